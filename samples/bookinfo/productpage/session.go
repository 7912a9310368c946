package productpage

import (
	"net/http"
	"net/url"

	"github.com/lateenmesh/lateen/samples/internal/appkit"
)

// sessionCookie names the cookie that holds the signed-in user.
const sessionCookie = "session"

// currentUser returns the user held in the session cookie, or "".
func currentUser(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	user, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return user
}

// serveLogin signs in whoever is named in the form; like the original
// sample it accepts any password.
func serveLogin(w http.ResponseWriter, r *http.Request) {
	if user := r.PostFormValue("username"); user != "" {
		http.SetCookie(w, &http.Cookie{
			Name:     sessionCookie,
			Value:    url.QueryEscape(user),
			Path:     "/",
			HttpOnly: true,
			SameSite: http.SameSiteLaxMode,
		})
	}
	http.Redirect(w, r, "/productpage", http.StatusFound)
}

func serveLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, "/productpage", http.StatusFound)
}

// outgoingHeaders returns the headers to put on upstream calls made while
// serving r: the propagated ones plus end-user for a signed-in user.
func outgoingHeaders(r *http.Request) http.Header {
	h := appkit.ForwardHeaders(r.Header)
	if user := currentUser(r); user != "" {
		h.Set("end-user", user)
	}
	return h
}
