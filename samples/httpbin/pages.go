package httpbin

import "net/http"

const indexPage = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>httpbin (Lateen)</title></head>
<body>
<h1>httpbin</h1>
<p>An HTTP request and response service, compatible with httpbin.org.</p>
<ul>
<li><a href="/get">/get</a> the request's query, headers, origin and URL</li>
<li><a href="/headers">/headers</a> the request headers</li>
<li><a href="/ip">/ip</a> the caller's address</li>
<li><a href="/user-agent">/user-agent</a> the User-Agent header</li>
<li>/post, /put, /patch, /delete: the request, body included</li>
<li><a href="/anything">/anything</a> any method, echoed back</li>
<li><a href="/status/418">/status/{codes}</a> the given status, or one of a comma list</li>
<li><a href="/delay/1">/delay/{n}</a> answers after n seconds (at most 10)</li>
<li><a href="/response-headers?X-Example=1">/response-headers</a> sets headers from the query</li>
<li><a href="/stream/3">/stream/{n}</a> n JSON lines</li>
<li><a href="/bytes/16">/bytes/{n}</a> n random bytes</li>
<li><a href="/redirect/2">/redirect/{n}</a> n redirects, then /get</li>
<li><a href="/html">/html</a> a small HTML page</li>
</ul>
</body>
</html>
`

const htmlPage = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Sample page</title></head>
<body>
<h1>Herman Melville - Moby-Dick</h1>
<div>
<p>A sample page served by httpbin. It tells, very briefly, of a sailor who
signs on with a whaling ship whose captain cares for nothing but hunting down
the white whale that once cost him his leg.</p>
</div>
</body>
</html>
`

func serveIndex(w http.ResponseWriter, _ *http.Request) {
	writeHTML(w, indexPage)
}

func serveHTML(w http.ResponseWriter, _ *http.Request) {
	writeHTML(w, htmlPage)
}

func writeHTML(w http.ResponseWriter, page string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(page))
}
