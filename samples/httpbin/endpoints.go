package httpbin

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits on the generated payloads, as on httpbin.org.
const (
	maxDelay     = 10 * time.Second
	maxStream    = 100
	maxBytes     = 100 * 1024
	maxRedirects = 100
)

// weightedCode is one choice of a /status/{codes} list.
type weightedCode struct {
	code   int
	weight float64
}

// parseCodes reads "200", "200,500" or "200:0.9,500:0.1".
func parseCodes(s string) ([]weightedCode, error) {
	var out []weightedCode
	for _, item := range strings.Split(s, ",") {
		codeStr, weightStr, hasWeight := strings.Cut(strings.TrimSpace(item), ":")
		code, err := strconv.Atoi(codeStr)
		if err != nil || code < 200 || code > 599 {
			return nil, fmt.Errorf("invalid status code %q", codeStr)
		}
		weight := 1.0
		if hasWeight {
			weight, err = strconv.ParseFloat(weightStr, 64)
			if err != nil || weight < 0 || math.IsNaN(weight) || math.IsInf(weight, 0) {
				return nil, fmt.Errorf("invalid weight %q", weightStr)
			}
		}
		out = append(out, weightedCode{code, weight})
	}
	return out, nil
}

// pickCode draws one code according to the weights.
func pickCode(codes []weightedCode) int {
	var total float64
	for _, c := range codes {
		total += c.weight
	}
	x := rand.Float64() * total
	for _, c := range codes {
		if x < c.weight {
			return c.code
		}
		x -= c.weight
	}
	return codes[len(codes)-1].code
}

// serveStatus answers with the status (or one of the statuses) asked for.
func serveStatus(w http.ResponseWriter, r *http.Request) {
	codes, err := parseCodes(r.PathValue("codes"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid status code")
		return
	}
	code := pickCode(codes)
	switch code {
	case 301, 302, 303, 305, 307:
		w.Header().Set("Location", "/redirect/1")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
}

// serveDelay waits n seconds (at most 10) and then answers like /get.
func serveDelay(w http.ResponseWriter, r *http.Request) {
	secs, err := strconv.ParseFloat(r.PathValue("n"), 64)
	if err != nil || secs < 0 || math.IsNaN(secs) {
		writeError(w, http.StatusBadRequest, "Invalid delay")
		return
	}
	d := time.Duration(min(secs, maxDelay.Seconds()) * float64(time.Second))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		writeJSON(w, http.StatusOK, getDict(r))
	case <-r.Context().Done():
	}
}

// serveResponseHeaders copies the query parameters into response headers
// and also returns the response headers as JSON.
func serveResponseHeaders(w http.ResponseWriter, r *http.Request) {
	doc := map[string]any{"Content-Type": "application/json"}
	for k, vals := range r.URL.Query() {
		if http.CanonicalHeaderKey(k) == "Content-Length" {
			continue
		}
		if http.CanonicalHeaderKey(k) == "Content-Type" {
			delete(doc, "Content-Type")
		}
		doc[k] = oneOrMany(vals)
		w.Header()[http.CanonicalHeaderKey(k)] = vals
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	body := withOwnLength(doc)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// withOwnLength encodes doc with a "Content-Length" entry equal to the
// length of the encoding itself.
func withOwnLength(doc map[string]any) []byte {
	var body []byte
	for n := 0; ; {
		doc["Content-Length"] = strconv.Itoa(n)
		body, _ = marshal(doc)
		if len(body) == n {
			return body
		}
		n = len(body)
	}
}

// serveStream writes n JSON lines describing the request, flushing each.
func serveStream(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "Invalid count")
		return
	}
	n = min(n, maxStream)
	w.Header().Set("Content-Type", "application/json")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range n {
		d := getDict(r)
		d["id"] = i
		if enc.Encode(d) != nil || rc.Flush() != nil {
			return
		}
	}
}

// serveBytes returns n random bytes; ?seed=N makes them reproducible.
func serveBytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		writeError(w, http.StatusBadRequest, "Invalid count")
		return
	}
	n = min(n, maxBytes)
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	if s := r.URL.Query().Get("seed"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Invalid seed")
			return
		}
		rng = rand.New(rand.NewPCG(seed, seed))
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	_, _ = w.Write(b)
}

// serveRedirect redirects n times before landing on /get.
func serveRedirect(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > maxRedirects {
		writeError(w, http.StatusBadRequest, "Invalid redirect count")
		return
	}
	target := "/get"
	if n > 1 {
		target = "/redirect/" + strconv.Itoa(n-1)
	}
	http.Redirect(w, r, target, http.StatusFound)
}
