package mailsink

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseDecodesCharsetsAndDefaults(t *testing.T) {
	cases := []struct {
		name, raw, subject, text string
		parseErr                 bool
	}{
		{"latin1 quoted-printable", "Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nS=FC=DF\r\n", "Grüße", "Süß\n", false},
		{"no content type", "Subject: plain\r\n\r\nhello\r\nworld\r\n", "plain", "hello\nworld\n", false},
		{"windows-1252 word", "Subject: =?windows-1252?Q?caf=E9?=\r\n\r\nx", "café", "x", false},
		{"no headers at all", "just text", "", "just text", true},
		{"broken multipart", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b", "", "first", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := parse([]byte(tc.raw))
			assert.Equal(t, tc.subject, m.Subject)
			assert.Equal(t, tc.text, m.Text)
			assert.Equal(t, tc.parseErr, m.ParseError != "", m.ParseError)
		})
	}
}

func TestParseStopsAtDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: deep\r\n")
	for i := range 20 {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('a'+i)) + "\r\n\r\n--b" + string(rune('a'+i)) + "\r\n")
	}
	m := parse([]byte(b.String()))
	assert.NotEmpty(t, m.ParseError)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("Subject: hi\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\naGk=\r\n--x--\r\n"))
	f.Add([]byte("Subject: =?utf-8?B?w6k=?=\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := parse(raw)
		if m.Text != strings.ToValidUTF8(m.Text, "\uFFFD") && m.ParseError == "" {
			t.Fatalf("text is not UTF-8: %q", m.Text)
		}
	})
}
