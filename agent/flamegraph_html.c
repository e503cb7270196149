/* flamegraph_html.c — see flamegraph_html.h. The page template is a C string literal below
 * (the data goes between its two halves). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph_html.h"
#include "jsonstr.h"
#include "collapsed.h"

static const char page_head[] =
"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
"<title>fleetprof flame graph</title>\n<style>\n"
"body{font:12px sans-serif;margin:0;background:#fff;color:#222}\n"
"#bar{padding:6px 8px;background:#f3f3f3;border-bottom:1px solid #ccc;display:flex;gap:8px;align-items:center}\n"
"#bar input{width:260px}#info{flex:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\n"
"#fg{position:relative;margin:4px 8px}\n"
".f{position:absolute;height:17px;line-height:17px;overflow:hidden;white-space:nowrap;font:11px monospace;"
"border-right:1px solid #fff;box-sizing:border-box;padding-left:2px;cursor:pointer}\n"
".f.hit{background:#e040fb!important}\n#meta{margin:8px;color:#555;white-space:pre-wrap;font:11px monospace}\n"
"</style></head><body>\n"
"<div id=\"bar\"><b>fleetprof</b><button id=\"reset\">Reset zoom</button>"
"<input id=\"q\" placeholder=\"search (regexp)\"><span id=\"match\"></span><span id=\"info\"></span></div>\n"
"<div id=\"fg\"></div><div id=\"meta\"></div>\n<script>\n";

static const char page_tail[] =
"\nvar root={n:'all',v:0,c:{}};\n"
"STACKS.forEach(function(e){var fr=e[0].split(';'),n=root;n.v+=e[1];"
"for(var i=0;i<fr.length;i++){var k=fr[i];if(i===0&&/^\\d+$/.test(k))continue;if(i===1&&k==='')continue;var c=n.c[k];"
"if(!c){c=n.c[k]={n:k,v:0,c:{},p:n};}c.v+=e[1];n=c;}});\n"
"var fg=document.getElementById('fg'),info=document.getElementById('info'),q=document.getElementById('q');\n"
"var zoom=root,RH=18;\n"
"function color(n){if(/_\\[k\\]$/.test(n))return 'hsl(30,80%,'+(55+h(n)%15)+'%)';"
"if(/_\\[j\\]$/.test(n))return 'hsl(120,55%,'+(50+h(n)%15)+'%)';"
"if(/_\\[p\\]$/.test(n))return 'hsl(200,60%,'+(55+h(n)%15)+'%)';"
"return 'hsl('+(h(n)%40)+',85%,'+(55+h(n)%15)+'%)';}\n"
"function h(s){var x=0;for(var i=0;i<s.length;i++)x=(x*31+s.charCodeAt(i))>>>0;return x;}\n"
"function depth(n){var d=0;for(var k in n.c)d=Math.max(d,depth(n.c[k]));return d+1;}\n"
"function pct(v){return root.v?(100*v/root.v).toFixed(2)+'%':'0%';}\n"
"function draw(){fg.innerHTML='';var W=fg.clientWidth||1000,D=depth(zoom),anc=[],a=zoom;"
"while(a.p){anc.unshift(a.p);a=a.p;}var re=null;try{if(q.value)re=new RegExp(q.value);}catch(e){}"
"var hitv=0;fg.style.height=((D+anc.length)*RH+4)+'px';var frag=document.createDocumentFragment();"
"anc.forEach(function(n,i){put(n,0,W,i,true);});"
"function put(n,x,w,lvl,dim){var d=document.createElement('div');d.className='f';d.style.left=x+'px';"
"d.style.width=Math.max(w,1)+'px';d.style.top=(lvl*RH)+'px';d.style.background=dim?'#ddd':color(n.n);"
"if(w>30)d.textContent=n.n;d.title=n.n+' \\u2014 '+n.v+' samples ('+pct(n.v)+')';"
"if(re&&re.test(n.n)){d.classList.add('hit');}"
"d.onclick=function(){zoom=n;draw();};d.onmouseover=function(){info.textContent=d.title;};frag.appendChild(d);}\n"
"function walk(n,x,w,lvl,counted){put(n,x,w,lvl,false);var hit=re&&re.test(n.n);if(hit&&!counted){hitv+=n.v;counted=true;}"
"var ks=Object.keys(n.c).sort(),cx=x;ks.forEach(function(k){var c=n.c[k],cw=w*c.v/n.v;"
"if(cw>=0.5)walk(c,cx,cw,lvl+1,counted);else if(re&&!counted)hitv+=sub(c);cx+=cw;});}\n"
"function sub(n){if(re.test(n.n))return n.v;var s=0;for(var k in n.c)s+=sub(n.c[k]);return s;}\n"
"walk(zoom,0,W,anc.length,false);fg.appendChild(frag);"
"document.getElementById('match').textContent=re?('matched '+pct(hitv)):'';}\n"
"document.getElementById('reset').onclick=function(){zoom=root;draw();};\n"
"q.oninput=draw;window.onresize=draw;\n"
"document.getElementById('meta').textContent=HEADER?JSON.stringify(HEADER,null,1):'';\n"
"draw();\n</script></body></html>\n";

struct render_ctx {
	struct buf *out;
	int first;
};

static int add_stack(void *ctx, const char *stack, size_t len, uint64_t count)
{
	struct render_ctx *r = ctx;
	int rc = buf_puts(r->out, r->first ? "[" : ",\n[");
	r->first = 0;
	if (!rc)
		rc = json_str(r->out, stack, len, JSONSTR_HTML);
	if (!rc)
		rc = buf_printf(r->out, ",%llu]", (unsigned long long)count);
	return rc;
}

/* The header is JSON already; embed it as a JS string and parse it in the page, so nothing in
 * it can break out of the script element. */
int flamegraph_html_render(const char *text, size_t len, struct buf *out)
{
	struct render_ctx r = { out, 1 };
	struct col_error err;
	char *header = NULL;
	int rc = buf_puts(out, page_head);
	if (!rc)
		rc = buf_puts(out, "var STACKS=[");
	if (!rc)
		rc = col_parse(text, len, &header, add_stack, &r, &err);
	if (!rc)
		rc = buf_puts(out, "];\nvar HEADER=null;try{HEADER=JSON.parse(");
	if (!rc)
		rc = json_str(out, header ? header : "null", header ? strlen(header) : 4, JSONSTR_HTML);
	if (!rc)
		rc = buf_puts(out, ");}catch(e){}\n");
	if (!rc)
		rc = buf_puts(out, page_tail);
	free(header);
	return rc;
}
