package reviews

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// Response is the JSON document served for a product.
type Response struct {
	ID          string   `json:"id"`
	PodName     string   `json:"podname"`
	ClusterName string   `json:"clustername"`
	Reviews     []Review `json:"reviews"`
}

// Review is one reviewer's text with, from v2 on, a rating.
type Review struct {
	Reviewer string  `json:"reviewer"`
	Text     string  `json:"text"`
	Rating   *Rating `json:"rating,omitempty"`
}

// Rating holds either stars and their colour, or an error text.
type Rating struct {
	Stars *int   `json:"stars,omitempty"`
	Color string `json:"color,omitempty"`
	Error string `json:"error,omitempty"`
}

// bookReviews returns the two reviews every product has.
func bookReviews() []Review {
	return []Review{
		{
			Reviewer: "Reviewer1",
			Text:     "A wildly entertaining Shakespeare play. Its slapstick humour still feels fresh!",
		},
		{
			Reviewer: "Reviewer2",
			Text:     "Great fun from start to finish, though thinner in theme than Shakespeare's other plays.",
		},
	}
}

// ratingsDoc is the part of the ratings service answer that is used.
type ratingsDoc struct {
	Ratings map[string]int `json:"ratings"`
}

// addRatings fetches the ratings of product id and attaches them to the
// reviews; a reviewer without a rating, or a failed call, gets the error.
func (s *server) addRatings(r *http.Request, id int, reviews []Review) {
	stars := s.fetchRatings(r, id)
	for i := range reviews {
		n, ok := stars[reviews[i].Reviewer]
		if !ok {
			reviews[i].Rating = &Rating{Error: unavailable}
			continue
		}
		reviews[i].Rating = &Rating{Stars: &n, Color: s.color}
	}
}

func (s *server) fetchRatings(r *http.Request, id int) map[string]int {
	url := s.ratingsURL + "/ratings/" + strconv.Itoa(id)
	hdr := appkit.ForwardHeaders(r.Header)
	body, err := appkit.Fetch(r.Context(), s.client, url, hdr, s.timeout, 1)
	if err != nil {
		s.logger.Warn("ratings call failed", "url", url, "err", err)
		return nil
	}
	var doc ratingsDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		s.logger.Warn("ratings answer unreadable", "url", url, "err", err)
		return nil
	}
	return doc.Ratings
}
