package mailsink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one received e-mail, decoded for reading.
type Message struct {
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	// From and To are the SMTP envelope (MAIL FROM, RCPT TO): who it was really sent to,
	// Bcc included, whatever the headers say.
	From string   `json:"from"`
	To   []string `json:"to"`
	// Subject and Headers have RFC 2047 encoded words decoded.
	Subject string              `json:"subject"`
	Headers map[string][]string `json:"headers"`
	// Text and HTML are the first text/plain and text/html parts that are not attachments,
	// transfer-decoded, converted to UTF-8, with line ends as "\n".
	Text        string       `json:"text"`
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	Size        int          `json:"size"`
	// ParseError says why the message could not be fully decoded; what was decoded stays.
	ParseError string `json:"parse_error,omitempty"`

	raw []byte
}

// Attachment describes a part that is not the message's text.
type Attachment struct {
	Filename    string `json:"filename,omitempty"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// Raw returns the message exactly as received.
func (m Message) Raw() []byte { return bytes.Clone(m.raw) }

// maxDepth bounds nested multiparts so a hostile message cannot recurse without end.
const maxDepth = 8

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// parse decodes what it can; a broken message is still kept, with ParseError set.
func parse(raw []byte) Message {
	var m Message
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseError = "headers: " + err.Error()
		m.Text = crlfToLF(string(raw))
		return m
	}
	m.Headers = make(map[string][]string, len(msg.Header))
	for k, vs := range msg.Header {
		for _, v := range vs {
			m.Headers[k] = append(m.Headers[k], decodeWords(v))
		}
	}
	if s := m.Headers["Subject"]; len(s) > 0 {
		m.Subject = s[0]
	}
	if err := m.walk(msg.Header, msg.Body, 0); err != nil {
		m.ParseError = err.Error()
	}
	return m
}

type header interface{ Get(string) string }

func (m *Message) walk(h header, body io.Reader, depth int) error {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		// RFC 2045 §5.2: without a usable Content-Type a body is plain ASCII text.
		mediaType, params = "text/plain", map[string]string{"charset": "us-ascii"}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth {
			return errors.New("multipart nested too deeply")
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves quoted-printable alone, so every part is decoded alike below.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := m.walk(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	data, err := io.ReadAll(transferDecoder(body, h.Get("Content-Transfer-Encoding")))
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	attached := disposition == "attachment" || filename != "" && disposition != "inline"
	switch {
	case !attached && mediaType == "text/plain" && m.Text == "":
		m.Text = crlfToLF(toUTF8(data, params["charset"]))
	case !attached && mediaType == "text/html" && m.HTML == "":
		m.HTML = crlfToLF(toUTF8(data, params["charset"]))
	default:
		m.Attachments = append(m.Attachments, Attachment{Filename: decodeWords(filename), ContentType: mediaType, Size: len(data)})
	}
	return nil
}

func transferDecoder(r io.Reader, encoding string) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		// The decoder skips the line breaks that base64 bodies carry.
		return base64.NewDecoder(base64.StdEncoding, r)
	default:
		return r
	}
}

// toUTF8 converts the charsets notification mail realistically uses; anything else is
// shown as it is, invalid bytes replaced.
func toUTF8(b []byte, charset string) string {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "latin1", "iso-8859-15", "windows-1252", "cp1252":
		return latin1(b)
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "latin1", "iso-8859-15", "windows-1252", "cp1252":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(latin1(b)), nil
	}
	return nil, fmt.Errorf("unhandled charset %q", charset)
}

func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func crlfToLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }
