package productpage

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
)

//go:embed templates static
var assets embed.FS

// Messages shown when an upstream could not be reached.
const (
	detailsUnavailable = "Sorry, product details are currently unavailable for this book."
	reviewsUnavailable = "Sorry, product reviews are currently unavailable for this book."
	ratingsUnavailable = "Sorry, product ratings are currently unavailable for this book."
)

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"stars": starSlots,
}).ParseFS(assets, "templates/*.html"))

// Product is one book of the store.
type Product struct {
	ID              int           `json:"id"`
	Title           string        `json:"title"`
	DescriptionHTML template.HTML `json:"descriptionHtml"`
}

// Products returns the store's catalogue: a single book.
func Products() []Product {
	return []Product{{
		ID:    0,
		Title: "The Comedy of Errors",
		DescriptionHTML: `<a href="https://en.wikipedia.org/wiki/The_Comedy_of_Errors">Wikipedia Summary</a>: ` +
			`The Comedy of Errors is an early play by <b>William Shakespeare</b> and his shortest. ` +
			`It is a broad farce whose laughs come mostly from slapstick and mistaken identities, ` +
			`helped along by puns and word play.`,
	}}
}

// reviewsDoc is the part of the reviews answer the page renders.
type reviewsDoc struct {
	PodName     string       `json:"podname"`
	ClusterName string       `json:"clustername"`
	Reviews     []reviewItem `json:"reviews"`
}

type reviewItem struct {
	Reviewer string      `json:"reviewer"`
	Text     string      `json:"text"`
	Rating   *ratingItem `json:"rating"`
}

type ratingItem struct {
	Stars int    `json:"stars"`
	Color string `json:"color"`
	Error string `json:"error"`
}

// pageData feeds templates/productpage.html.
type pageData struct {
	User       string
	Product    Product
	Details    map[string]any
	DetailsErr string
	Reviews    *reviewsDoc
	ReviewsErr string
}

// starSlots returns n (clamped to 0..5) items to range over.
func starSlots(n int) []struct{} {
	return make([]struct{}, max(0, min(n, 5)))
}

func (s *server) serveIndex(w http.ResponseWriter, r *http.Request) {
	s.render(w, "index.html", nil)
}

func (s *server) serveProductPage(w http.ResponseWriter, r *http.Request) {
	const productID = 0
	hdr := outgoingHeaders(r)
	data := pageData{User: currentUser(r), Product: Products()[productID]}
	if err := s.getJSON(r.Context(), s.detailsURL(productID), hdr, s.opts.DetailsTimeout, &data.Details); err != nil {
		data.DetailsErr = detailsUnavailable
	}
	data.Reviews = new(reviewsDoc)
	body, err := s.fetchReviews(r.Context(), s.reviewsURL(productID), hdr)
	if err == nil {
		err = json.Unmarshal(body, data.Reviews)
	}
	if err != nil {
		data.ReviewsErr = reviewsUnavailable
	}
	s.render(w, "productpage.html", data)
}

func (s *server) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		s.logger.Error("rendering page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}
