/* routes.h — the route table (data: {methods, path, auth, body, handler}) and the dispatcher.
 *
 * Matching: exact paths first; a path that exists with other methods is 405 (with Allow);
 * /api/... that matches nothing is 404; anything else falls to the static-file route.
 */
#ifndef FP_ROUTES_H
#define FP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include "http.h"
#include "handlers.h"

enum route_auth { ROUTE_AUTH_NONE = 0, ROUTE_AUTH_AGENT, ROUTE_AUTH_ADMIN };
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

/* Find the route for req. NULL when there is none: *status is 404 or 405, and for 405 allow
 * gets the "GET, HEAD"-style list. */
const struct route *routes_match(const struct http_req *req, int *status, char *allow,
				 size_t allow_len);

/* 0 when req carries a token good enough for the route, else 401. Agent routes take the agent
 * or the admin token (Authorization: Bearer, or GPROFILER-API-KEY); admin routes only the admin
 * token. */
int routes_check_auth(const struct srv *s, const struct route *r, const struct http_req *req);

/* Most body bytes the route accepts (0 when it takes none): HTTP_JSON_MAX for JSON routes,
 * --max-upload-mb for uploads. */
size_t routes_body_limit(const struct srv *s, const struct route *r);

/* Everything after the body has been read: match, auth, call the handler; resp always ends up
 * with a status. Errors are JSON {"success":false,"message":...}. */
void routes_handle(struct srv *s, const struct http_req *req, struct http_resp *resp);

/* Answer an early error (no route, auth) the same way routes_handle would. */
void routes_answer(struct http_resp *resp, int status, const char *allow);

#endif
