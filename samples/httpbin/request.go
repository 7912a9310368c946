package httpbin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxBody caps the request bodies httpbin will read.
const maxBody = 10 << 20

// getDict describes a request the way /get does.
func getDict(r *http.Request) map[string]any {
	return map[string]any{
		"args":    valuesMap(r.URL.Query()),
		"headers": headerMap(r),
		"origin":  origin(r),
		"url":     requestURL(r),
	}
}

// bodyDict describes a request and its body the way /anything does,
// without the method.
func bodyDict(r *http.Request) (map[string]any, error) {
	b, err := parseBody(r)
	if err != nil {
		return nil, err
	}
	d := getDict(r)
	d["data"] = b.data
	d["files"] = b.files
	d["form"] = b.form
	d["json"] = b.json
	return d, nil
}

// headerMap returns the request headers, Host included, with canonical
// names and repeated values joined by commas.
func headerMap(r *http.Request) map[string]string {
	m := make(map[string]string, len(r.Header)+1)
	for k, v := range r.Header {
		m[http.CanonicalHeaderKey(k)] = strings.Join(v, ",")
	}
	if r.Host != "" {
		m["Host"] = r.Host
	}
	return m
}

// valuesMap turns query or form values into JSON: a lone value is a
// string, repeated ones a list.
func valuesMap(v url.Values) map[string]any {
	m := make(map[string]any, len(v))
	for k, vals := range v {
		if len(vals) == 1 {
			m[k] = vals[0]
		} else {
			m[k] = vals
		}
	}
	return m
}

// origin is the client address, or X-Forwarded-For when a proxy set it.
func origin(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		return xff
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// body is a parsed request body.
type body struct {
	data  string
	form  map[string]any
	files map[string]any
	json  any
}

func parseBody(r *http.Request) (body, error) {
	b := body{form: map[string]any{}, files: map[string]any{}}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return b, err
	}
	if len(raw) > maxBody {
		return b, errors.New("request body too large")
	}
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(raw))
		b.form = valuesMap(vals)
		return b, err
	case "multipart/form-data":
		return parseMultipart(b, raw, params["boundary"])
	}
	b.data = dataString(raw)
	if len(bytes.TrimSpace(raw)) > 0 && json.Valid(raw) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		_ = dec.Decode(&b.json)
	}
	return b, nil
}

func parseMultipart(b body, raw []byte, boundary string) (body, error) {
	if boundary == "" {
		return b, errors.New("multipart body without boundary")
	}
	form, err := multipart.NewReader(bytes.NewReader(raw), boundary).ReadForm(maxBody)
	if err != nil {
		return b, err
	}
	defer form.RemoveAll()
	b.form = valuesMap(form.Value)
	for name, headers := range form.File {
		contents := make([]string, 0, len(headers))
		for _, fh := range headers {
			c, err := readPart(fh)
			if err != nil {
				return b, err
			}
			contents = append(contents, c)
		}
		b.files[name] = oneOrMany(contents)
	}
	return b, nil
}

func readPart(fh *multipart.FileHeader) (string, error) {
	f, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	c, err := io.ReadAll(f)
	return dataString(c), err
}

func oneOrMany(s []string) any {
	if len(s) == 1 {
		return s[0]
	}
	return s
}

// dataString returns text as is and binary content as a base64 data URL.
func dataString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(b)
}
