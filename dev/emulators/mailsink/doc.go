// Package mailsink is a local SMTP server that accepts every message and keeps it in memory,
// with an HTTP view of what arrived. The dev stack points meterbridge's e-mail notifications
// at it, and tests read back what a run sent.
//
// SMTP: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT (go-smtp); AUTH PLAIN is offered
// without TLS and accepts any user and password, so a sender configured with credentials
// works unchanged. No STARTTLS. Messages up to 10 MiB, 100 recipients.
//
// HTTP (Handler), JSON unless noted:
//
//	GET    /                       a small HTML index of received mail
//	GET    /messages[?to=addr]     summaries, oldest first; to filters by envelope recipient
//	GET    /messages/{id}          one message: headers, text and HTML bodies, attachments
//	GET    /messages/{id}/raw      the message as received (message/rfc822)
//	DELETE /messages               forget everything received
//
// Errors are {"error": {"code", "message"}}, as in meterbridge's own API.
package mailsink
