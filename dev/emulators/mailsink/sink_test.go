package mailsink_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/dev/emulators/mailsink"
)

func start(t *testing.T) (*mailsink.Sink, string) {
	t.Helper()
	sink, err := mailsink.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sink.Close() })
	ts := httptest.NewServer(sink.Handler())
	t.Cleanup(ts.Close)
	return sink, ts.URL
}

func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func notification() []byte {
	html := base64.StdEncoding.EncodeToString([]byte("<p>Usage published for <b>3</b> clients</p>"))
	return crlf(`From: meterbridge <noreply@meterbridge.local>
To: Manager <manager@acme.example>
Subject: =?UTF-8?Q?Publish_r=C3=A9sultat:_success?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Usage published for 3 clients =E2=80=94 Gr=C3=BC=C3=9Fe. This line is long enough to be so=
ft wrapped.
Second line.
--alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

` + html[:20] + "\n" + html[20:] + `
--alt--
--outer
Content-Type: text/csv; name="report.csv"
Content-Disposition: attachment; filename="report.csv"

client,gb
ACME-001,120.75
--outer--
`)
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	if v != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}
	return resp.StatusCode
}

func TestMultipartNotificationReadBackOverHTTP(t *testing.T) {
	sink, base := start(t)
	auth := smtp.PlainAuth("", "relay-user", "relay-password", "127.0.0.1")

	err := smtp.SendMail(sink.SMTPAddr(), auth, "noreply@meterbridge.local", []string{"manager@acme.example", "auditor@msp.example"}, notification())
	require.NoError(t, err)

	var list []mailsink.Summary
	require.Equal(t, 200, getJSON(t, base+"/messages", &list))
	require.Len(t, list, 1)
	assert.Equal(t, "Publish résultat: success", list[0].Subject)
	assert.Equal(t, []string{"manager@acme.example", "auditor@msp.example"}, list[0].To)

	var m mailsink.Message
	require.Equal(t, 200, getJSON(t, base+"/messages/"+list[0].ID, &m))
	assert.Equal(t, "noreply@meterbridge.local", m.From)
	assert.Equal(t, "Usage published for 3 clients — Grüße. This line is long enough to be soft wrapped.\nSecond line.", m.Text)
	assert.Equal(t, "<p>Usage published for <b>3</b> clients</p>", m.HTML)
	assert.Equal(t, []mailsink.Attachment{{Filename: "report.csv", ContentType: "text/csv", Size: len("client,gb\r\nACME-001,120.75")}}, m.Attachments)
	assert.Equal(t, []string{"Manager <manager@acme.example>"}, m.Headers["To"])
	assert.Empty(t, m.ParseError)

	var only []mailsink.Summary
	getJSON(t, base+"/messages?to=AUDITOR@msp.example", &only)
	assert.Len(t, only, 1)
	getJSON(t, base+"/messages?to=nobody@x.example", &only)
	assert.Empty(t, only)

	resp, err := http.Get(base + "/messages/" + m.ID + "/raw")
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "message/rfc822", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(raw), `Content-Type: multipart/mixed; boundary="outer"`)

	resp, err = http.Get(base + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	assert.Contains(t, string(page), "Publish résultat: success")
	assert.Contains(t, string(page), `href="messages/1"`)
}

func TestDeleteForgetsMessages(t *testing.T) {
	sink, base := start(t)
	require.NoError(t, smtp.SendMail(sink.SMTPAddr(), nil, "a@x.example", []string{"b@x.example"}, crlf("Subject: hi\n\nbody\n")))

	req, _ := http.NewRequest(http.MethodDelete, base+"/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Empty(t, sink.Messages())
	var e struct{ Error struct{ Code string } }
	assert.Equal(t, 404, getJSON(t, base+"/messages/1", &e))
	assert.Equal(t, "not_found", e.Error.Code)
}

func TestWaitForReturnsOnceEnoughArrived(t *testing.T) {
	sink, _ := start(t)
	go func() {
		for i := range 3 {
			_ = smtp.SendMail(sink.SMTPAddr(), nil, "a@x.example", []string{"b@x.example"}, crlf(fmt.Sprintf("Subject: n%d\n\nbody\n", i)))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	msgs, err := sink.WaitFor(ctx, 3)

	require.NoError(t, err)
	require.Len(t, msgs, 3)
	assert.Equal(t, "n0", msgs[0].Subject)
	assert.Equal(t, "body\n", msgs[0].Text)
}

func TestWaitForGivesUpWithWhatArrived(t *testing.T) {
	sink, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	msgs, err := sink.WaitFor(ctx, 1)

	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Empty(t, msgs)
}

func TestCloseStopsSMTPButKeepsMessages(t *testing.T) {
	sink, err := mailsink.Start("127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, smtp.SendMail(sink.SMTPAddr(), nil, "a@x.example", []string{"b@x.example"}, crlf("Subject: kept\n\nx\n")))

	require.NoError(t, sink.Close())
	_ = sink.Close()

	assert.Error(t, smtp.SendMail(sink.SMTPAddr(), nil, "a@x.example", []string{"b@x.example"}, crlf("Subject: lost\n\nx\n")))
	require.Len(t, sink.Messages(), 1)
	assert.Equal(t, "kept", sink.Messages()[0].Subject)
}
