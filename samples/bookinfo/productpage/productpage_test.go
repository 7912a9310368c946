package productpage

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lateenmesh/lateen/samples/internal/apptest"
)

const detailsJSON = `{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}`

func reviewsJSON(rating1, rating2 string) string {
	return `{"id":"0","podname":"reviews-v2-5c8d7f","clustername":"null","reviews":[` +
		`{"reviewer":"Reviewer1","text":"Great fun."` + rating1 + `},` +
		`{"reviewer":"Reviewer2","text":"Rather shallow."` + rating2 + `}]}`
}

// upstream is a fake service that records the requests it gets.
type upstream struct {
	*httptest.Server
	calls   atomic.Int32
	headers chan http.Header
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	u := &upstream{headers: make(chan http.Header, 16)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		select {
		case u.headers <- r.Header.Clone():
		default:
		}
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func jsonAnswer(path, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func get(t *testing.T, h http.Handler, path string, hdr http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// renderCase is one scenario of TestProductPageRendering.
type renderCase struct {
	name      string
	reviews   http.HandlerFunc
	details   string
	want      []string
	wantCount map[string]int
	notWant   []string
}

func renderCases() []renderCase {
	filled := `<span class="glyphicon glyphicon-star"></span>`
	return []renderCase{
		{
			name:      "v1 no ratings",
			reviews:   jsonAnswer("/reviews/0", reviewsJSON("", "")),
			want:      []string{"<title>Simple Bookstore App</title>", "The Comedy of Errors", "Summary:", "Great fun.", "Reviewer1", "Rather shallow.", "<dt>Type:</dt>paperback", "<dt>Pages:</dt>200", "<dt>ISBN-10:</dt>1234567890", "Reviews served by:</dt><u>reviews-v2-5c8d7f</u>"},
			wantCount: map[string]int{filled: 0},
			notWant:   []string{"on cluster", "unavailable"},
		},
		{
			name:      "v2 black stars",
			reviews:   jsonAnswer("/reviews/0", reviewsJSON(`,"rating":{"stars":5,"color":"black"}`, `,"rating":{"stars":4,"color":"black"}`)),
			want:      []string{`<font color="black">`},
			wantCount: map[string]int{filled: 9, `<font color="black">`: 2},
		},
		{
			name:      "v3 red stars",
			reviews:   jsonAnswer("/reviews/0", reviewsJSON(`,"rating":{"stars":5,"color":"red"}`, `,"rating":{"stars":4,"color":"red"}`)),
			wantCount: map[string]int{filled: 9, `<font color="red">`: 2},
		},
		{
			name:      "ratings unavailable",
			reviews:   jsonAnswer("/reviews/0", reviewsJSON(`,"rating":{"error":"Ratings service is currently unavailable"}`, `,"rating":{"error":"Ratings service is currently unavailable"}`)),
			wantCount: map[string]int{"Ratings service is currently unavailable": 2, filled: 0},
		},
		{
			name:    "cluster name shown",
			reviews: jsonAnswer("/reviews/0", strings.Replace(reviewsJSON("", ""), `"clustername":"null"`, `"clustername":"east"`, 1)),
			want:    []string{"on cluster <u>east</u>"},
		},
		{
			name:    "reviews 500",
			reviews: status(500),
			want:    []string{"Sorry, product reviews are currently unavailable for this book.", "<dt>Type:</dt>paperback"},
			notWant: []string{"Reviews served by:"},
		},
		{
			name:    "details 503",
			reviews: jsonAnswer("/reviews/0", reviewsJSON("", "")),
			details: "broken",
			want:    []string{"Sorry, product details are currently unavailable for this book.", "Reviews served by:"},
			notWant: []string{"<dt>Type:</dt>"},
		},
	}
}

func TestProductPageRendering(t *testing.T) {
	details := newUpstream(t, jsonAnswer("/details/0", detailsJSON))
	tests := renderCases()
	broken := newUpstream(t, status(503))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reviews := newUpstream(t, tt.reviews)
			opts := Options{DetailsURL: details.URL, ReviewsURL: reviews.URL}
			if tt.details == "broken" {
				opts.DetailsURL = broken.URL
			}
			rec := get(t, Handler(opts), "/productpage?u=normal", nil)
			if rec.Code != 200 {
				t.Fatalf("status = %d", rec.Code)
			}
			body := rec.Body.String()
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for s, n := range tt.wantCount {
				if got := strings.Count(body, s); got != n {
					t.Errorf("page has %d × %q, want %d", got, s, n)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(body, s) {
					t.Errorf("page unexpectedly has %q", s)
				}
			}
		})
	}
}

func TestReviewsTimeoutTwoAttempts(t *testing.T) {
	details := newUpstream(t, jsonAnswer("/details/0", detailsJSON))
	reviews := newUpstream(t, hang)
	const perAttempt = 100 * time.Millisecond
	h := Handler(Options{DetailsURL: details.URL, ReviewsURL: reviews.URL, ReviewsTimeout: perAttempt})
	start := time.Now()
	rec := get(t, h, "/productpage", nil)
	elapsed := time.Since(start)
	if !strings.Contains(rec.Body.String(), "Sorry, product reviews are currently unavailable for this book.") {
		t.Error("page lacks the reviews error")
	}
	if got := reviews.calls.Load(); got != 2 {
		t.Errorf("reviews called %d times, want 2", got)
	}
	if elapsed < 2*perAttempt {
		t.Errorf("gave up after %v, want at least %v", elapsed, 2*perAttempt)
	}
	if got := details.calls.Load(); got != 1 {
		t.Errorf("details called %d times, want 1", got)
	}
}

// As in Istio's productpage, reviews is called again after an error
// status too (a sidecar's 504 when a route timeout fires); details and
// ratings are not.
func TestReviewsErrorStatusTwoAttempts(t *testing.T) {
	details := newUpstream(t, status(http.StatusGatewayTimeout))
	reviews := newUpstream(t, status(http.StatusGatewayTimeout))
	h := Handler(Options{DetailsURL: details.URL, ReviewsURL: reviews.URL, RatingsURL: details.URL})
	rec := get(t, h, "/productpage", nil)
	if !strings.Contains(rec.Body.String(), "Sorry, product reviews are currently unavailable for this book.") {
		t.Error("page lacks the reviews error")
	}
	if got := reviews.calls.Load(); got != 2 {
		t.Errorf("page: reviews called %d times, want 2", got)
	}
	get(t, h, "/api/v1/products/0/reviews", nil)
	if got := reviews.calls.Load(); got != 4 {
		t.Errorf("page and API: reviews called %d times, want 4", got)
	}
	get(t, h, "/api/v1/products/0/ratings", nil)
	if got := details.calls.Load(); got != 2 {
		t.Errorf("details (page) and ratings (API) called %d times, want once each", got)
	}
}

func TestDetailsTimeoutTwoAttempts(t *testing.T) {
	details := newUpstream(t, hang)
	reviews := newUpstream(t, jsonAnswer("/reviews/0", reviewsJSON("", "")))
	h := Handler(Options{DetailsURL: details.URL, ReviewsURL: reviews.URL, DetailsTimeout: 50 * time.Millisecond})
	rec := get(t, h, "/productpage", nil)
	if !strings.Contains(rec.Body.String(), "Sorry, product details are currently unavailable for this book.") {
		t.Error("page lacks the details error")
	}
	if got := details.calls.Load(); got != 2 {
		t.Errorf("details called %d times, want 2", got)
	}
}

func TestHeaderPropagation(t *testing.T) {
	details := newUpstream(t, jsonAnswer("/details/0", detailsJSON))
	reviews := newUpstream(t, jsonAnswer("/reviews/0", reviewsJSON("", "")))
	h := Handler(Options{DetailsURL: details.URL, ReviewsURL: reviews.URL})
	in := http.Header{
		"X-Request-Id": {"6b1f7c1e-req"},
		"X-B3-Traceid": {"80f198ee56343ba864fe8b2a57d3eff7"},
		"User-Agent":   {"test-agent/1.0"},
		"Cookie":       {"other=1"},
		"X-Unrelated":  {"nope"},
	}
	get(t, h, "/productpage", in)
	for name, u := range map[string]*upstream{"details": details, "reviews": reviews} {
		got := <-u.headers
		for _, k := range []string{"X-Request-Id", "X-B3-Traceid", "User-Agent"} {
			if got.Get(k) != in.Get(k) {
				t.Errorf("%s saw %s = %q, want %q", name, k, got.Get(k), in.Get(k))
			}
		}
		for _, k := range []string{"Cookie", "X-Unrelated", "End-User"} {
			if got.Get(k) != "" {
				t.Errorf("%s saw %s = %q, want none", name, k, got.Get(k))
			}
		}
	}
}

func TestLoginLogout(t *testing.T) {
	details := newUpstream(t, jsonAnswer("/details/0", detailsJSON))
	reviews := newUpstream(t, jsonAnswer("/reviews/0", reviewsJSON("", "")))
	srv := httptest.NewServer(Handler(Options{DetailsURL: details.URL, ReviewsURL: reviews.URL}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	page := fetchPage(t, client, srv.URL+"/productpage")
	if !strings.Contains(page, `action="/login"`) || strings.Contains(page, "Welcome") {
		t.Error("anonymous page should offer the sign-in form")
	}
	drain(reviews, details)

	resp, err := client.PostForm(srv.URL+"/login", map[string][]string{"username": {"jason"}, "passwd": {"anything"}})
	if err != nil {
		t.Fatal(err)
	}
	page = readBody(t, resp)
	if resp.Request.URL.Path != "/productpage" {
		t.Errorf("login landed on %s, want /productpage", resp.Request.URL.Path)
	}
	if !strings.Contains(page, "Welcome jason") || !strings.Contains(page, "Sign out") {
		t.Error("signed-in page lacks the welcome and sign-out")
	}
	for name, u := range map[string]*upstream{"details": details, "reviews": reviews} {
		h := <-u.headers
		if h.Get("End-User") != "jason" {
			t.Errorf("%s saw end-user %q, want jason", name, h.Get("End-User"))
		}
		if h.Get("Cookie") != "" {
			t.Errorf("%s saw a cookie", name)
		}
	}

	page = fetchPage(t, client, srv.URL+"/logout")
	if strings.Contains(page, "Welcome") || !strings.Contains(page, `action="/login"`) {
		t.Error("page after logout still signed in")
	}
	if h := <-reviews.headers; h.Get("End-User") != "" {
		t.Errorf("end-user %q sent after logout", h.Get("End-User"))
	}
}

func TestLoginRedirect(t *testing.T) {
	h := Handler(Options{})
	req := httptest.NewRequest("POST", "/login", strings.NewReader("username=jason&passwd=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/productpage" {
		t.Errorf("got %d to %q, want 302 to /productpage", rec.Code, rec.Header().Get("Location"))
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "session" || c[0].Value != "jason" {
		t.Errorf("cookies = %v", c)
	}
	rec = get(t, h, "/logout", nil)
	c = rec.Result().Cookies()
	if rec.Code != http.StatusFound || len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout: %d, cookies %v", rec.Code, c)
	}
}

func fetchPage(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// drain forgets the headers recorded so far.
func drain(us ...*upstream) {
	for _, u := range us {
		for len(u.headers) > 0 {
			<-u.headers
		}
	}
}

func TestSimpleEndpoints(t *testing.T) {
	h := Handler(Options{})
	tests := []struct {
		path       string
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"/", 200, "text/html", `href="/productpage?u=normal"`},
		{"/health", 200, "json", `{"status": "Product page is healthy"}`},
		{"/static/css/style.css", 200, "css", "glyphicon-star"},
		{"/static/js/app.js", 200, "javascript", "use strict"},
		{"/static/nope.css", 404, "", ""},
		{"/static/css/", 404, "", ""},
		{"/nothing", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := get(t, h, tt.path, nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, tt.wantType) {
				t.Errorf("content type = %q, want %q", ct, tt.wantType)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body lacks %q", tt.wantBody)
			}
		})
	}
}

func TestAPI(t *testing.T) {
	details := newUpstream(t, jsonAnswer("/details/0", detailsJSON))
	reviews := newUpstream(t, jsonAnswer("/reviews/0", reviewsJSON("", "")))
	ratings := newUpstream(t, jsonAnswer("/ratings/0", `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`))
	down := newUpstream(t, status(500))
	ok := Handler(Options{DetailsURL: details.URL, ReviewsURL: reviews.URL, RatingsURL: ratings.URL})
	failing := Handler(Options{DetailsURL: down.URL, ReviewsURL: down.URL, RatingsURL: down.URL})
	tests := []struct {
		name       string
		h          http.Handler
		path       string
		wantStatus int
		wantBody   string
	}{
		{"details", ok, "/api/v1/products/0", 200, detailsJSON},
		{"reviews", ok, "/api/v1/products/0/reviews", 200, reviewsJSON("", "")},
		{"ratings", ok, "/api/v1/products/0/ratings", 200, `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`},
		{"details down", failing, "/api/v1/products/0", 503, `{"error":"Sorry, product details are currently unavailable for this book."}`},
		{"reviews down", failing, "/api/v1/products/0/reviews", 503, `{"error":"Sorry, product reviews are currently unavailable for this book."}`},
		{"ratings down", failing, "/api/v1/products/0/ratings", 503, `{"error":"Sorry, product ratings are currently unavailable for this book."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, tt.h, tt.path, nil)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", got, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestProductsList(t *testing.T) {
	rec := get(t, Handler(Options{}), "/api/v1/products", nil)
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["id"] != 0.0 || got[0]["title"] != "The Comedy of Errors" {
		t.Errorf("products = %v", got)
	}
	if d, _ := got[0]["descriptionHtml"].(string); !strings.Contains(d, "<b>William Shakespeare</b>") {
		t.Errorf("descriptionHtml = %q", d)
	}
}

func TestRun(t *testing.T) {
	details := newUpstream(t, jsonAnswer("/details/0", detailsJSON))
	reviews := newUpstream(t, jsonAnswer("/reviews/0", reviewsJSON("", "")))
	log, buf := apptest.Logger()
	addr := apptest.Start(t, func(ctx context.Context, on func(net.Addr)) error {
		return Run(ctx, Options{Addr: "127.0.0.1:0", DetailsURL: details.URL, ReviewsURL: reviews.URL, Logger: log, OnListen: on})
	})
	page := fetchPage(t, http.DefaultClient, "http://"+addr+"/productpage")
	if !strings.Contains(page, "reviews-v2-5c8d7f") {
		t.Error("page lacks the reviews pod name")
	}
	if !strings.Contains(buf.String(), "GET /productpage Host: "+addr) {
		t.Errorf("access log %q lacks the request", buf.String())
	}
}
