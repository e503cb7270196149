/* routes.h — the route table (data: {methods, path, auth, body, handler}) and the dispatcher the
 * HTTP front end calls (struct http_dispatch, http.h).
 *
 * Matching: exact paths first; a path that exists with other methods is 405 (with Allow);
 * /api/... that matches nothing is 404; anything else falls to the static-file route.
 * A request is matched and its credentials checked once, in admit; run calls the handler.
 */
#ifndef FP_ROUTES_H
#define FP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include "http.h"
#include "handlers.h"

enum route_auth {
	ROUTE_AUTH_NONE = 0,
	ROUTE_AUTH_PROBE,    /* open; a key presented must be good (else 400 "Invalid API key") */
	ROUTE_AUTH_AGENT,
	ROUTE_AUTH_ADMIN,
};
enum route_body { ROUTE_BODY_NONE = 0, ROUTE_BODY_JSON, ROUTE_BODY_UPLOAD };

struct route {
	unsigned methods;          /* bitmask of enum http_method; GET implies HEAD */
	const char *path;
	bool prefix;               /* path is a prefix (the static route) */
	enum route_auth auth;
	enum route_body body;
	handler_fn fn;
};

extern const struct route routes_table[];
extern const size_t routes_count;

/* The dispatcher: ctx is the struct srv. */
extern const struct http_dispatch routes_dispatch;

/* Find the route for req. NULL when there is none: *status is 404 or 405, and for 405 allow
 * gets the "GET, HEAD"-style list. */
const struct route *routes_match(const struct http_req *req, int *status, char *allow,
				 size_t allow_len);

/* Admit and run a request whose body is already in req (tests, and any caller without a socket):
 * the same path a request takes through the front end, a body past the route's limit is 413. */
void routes_handle(struct srv *s, const struct http_req *req, struct http_resp *resp);

#endif
