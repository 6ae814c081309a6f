package mailsink

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/meterbridge/meterbridge/dev/emulators/emuhttp"
)

// Summary is a message as listed by GET /messages.
type Summary struct {
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Subject    string    `json:"subject"`
	Size       int       `json:"size"`
}

func (m Message) summary() Summary {
	return Summary{ID: m.ID, ReceivedAt: m.ReceivedAt, From: m.From, To: m.To, Subject: m.Subject, Size: m.Size}
}

// Handler serves the received mail over HTTP. Links in the index are relative, so it can be
// mounted under a prefix with http.StripPrefix.
func (s *Sink) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /messages", s.list)
	mux.HandleFunc("DELETE /messages", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := s.Message(r.PathValue("id")); ok {
			emuhttp.WriteJSON(w, http.StatusOK, m)
			return
		}
		emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no message "+r.PathValue("id"))
	})
	mux.HandleFunc("GET /messages/{id}/raw", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.Message(r.PathValue("id"))
		if !ok {
			emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no message "+r.PathValue("id"))
			return
		}
		w.Header().Set("Content-Type", "message/rfc822")
		_, _ = w.Write(m.raw)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		emuhttp.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Sink) summaries(to string) []Summary {
	out := []Summary{}
	for _, m := range s.Messages() {
		if to == "" || containsFold(m.To, to) {
			out = append(out, m.summary())
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (s *Sink) list(w http.ResponseWriter, r *http.Request) {
	emuhttp.WriteJSON(w, http.StatusOK, s.summaries(r.URL.Query().Get("to")))
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Mail sink</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .8em;text-align:left}</style>
</head><body>
<h1>Mail sink</h1>
<p>{{len .}} message(s). JSON: <a href="messages">messages</a></p>
<table><tr><th>#</th><th>Received (UTC)</th><th>From</th><th>To</th><th>Subject</th><th></th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.ReceivedAt.Format "2006-01-02 15:04:05"}}</td><td>{{.From}}</td><td>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</td><td><a href="messages/{{.ID}}">{{.Subject}}</a></td><td><a href="messages/{{.ID}}/raw">raw</a></td></tr>
{{end}}</table>
</body></html>
`))

func (s *Sink) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = indexPage.Execute(w, s.summaries(""))
}
