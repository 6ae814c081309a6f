package api

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/meterbridge/meterbridge/store"
)

// History limits: JSON answers the newest 100 by default; a CSV export is meant to be the
// whole history, so it defaults to the maximum.
const (
	historyDefaultLimit = 100
	historyMaxLimit     = 10000
)

// listHistory answers the site history, newest first (?limit= 1–10000, default 100;
// ?severity=info|warning|error). With ?format=csv it is a CSV download (RFC 4180, header
// row, times in UTC and in the tenant's zone), limit defaulting to 10000.
func (s *server) listHistory(c *gin.Context) {
	if err := rejectUnknownQuery(c, "limit", "severity", "format"); err != nil {
		fail(c, err)
		return
	}
	format := c.Query("format")
	if err := queryOneOf("format", format, "json", "csv"); err != nil {
		fail(c, err)
		return
	}
	def := historyDefaultLimit
	if format == "csv" {
		def = historyMaxLimit
	}
	limit, err := queryInt(c, "limit", def, 1, historyMaxLimit)
	if err != nil {
		fail(c, err)
		return
	}
	severity := c.Query("severity")
	if err := queryOneOf("severity", severity, store.SeverityInfo, store.SeverityWarning, store.SeverityError); err != nil {
		fail(c, err)
		return
	}
	tenantID := c.Param("tenant")
	entries, err := s.store.FilterHistory(c.Request.Context(), tenantID, store.HistoryFilter{Limit: limit, Severity: severity})
	if err != nil {
		fail(c, err)
		return
	}
	if entries == nil {
		entries = []store.HistoryEntry{}
	}
	if format != "csv" {
		c.JSON(http.StatusOK, gin.H{"history": entries, "count": len(entries)})
		return
	}
	t, err := s.store.GetTenant(c.Request.Context(), tenantID)
	if err != nil {
		fail(c, err)
		return
	}
	name := "meterbridge-history-" + tenantID + "-" + time.Now().UTC().Format("20060102T150405Z") + ".csv"
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Status(http.StatusOK)
	if err := writeHistoryCSV(c.Writer, entries, t.Location()); err != nil {
		logger(c).Error("history CSV not fully written", "err", err)
	}
}

// historyCSVHeader names the export's columns; time_local is in the tenant's zone, named
// in time_zone.
var historyCSVHeader = []string{"id", "time_utc", "time_local", "time_zone", "severity", "actor", "action", "message", "details"}

// writeHistoryCSV writes entries as RFC 4180 CSV (CRLF line ends, quoting by encoding/csv)
// with a header row. Every cell passes through csvCell, so a spreadsheet opening the file
// does not run text someone typed into a mapping ID or an e-mail as a formula.
func writeHistoryCSV(w io.Writer, entries []store.HistoryEntry, loc *time.Location) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(historyCSVHeader); err != nil {
		return err
	}
	for _, h := range entries {
		details := string(h.Details)
		if details == "" {
			details = "{}"
		}
		row := []string{
			strconv.FormatInt(h.ID, 10),
			h.At.UTC().Format(time.RFC3339),
			h.At.In(loc).Format(time.RFC3339),
			loc.String(),
			h.Severity, h.Actor, h.Action, h.Message, details,
		}
		for i := range row {
			row[i] = csvCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell defuses CSV formula injection (OWASP): a cell starting with = + - @, a tab or a
// carriage return is prefixed with a single quote, which spreadsheets show as text and do
// not evaluate. Everything else is left as it is; encoding/csv does the quoting.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// clearHistory deletes the tenant's site history, answers how many entries went, and
// leaves one entry saying who cleared it and when.
func (s *server) clearHistory(c *gin.Context) {
	n, entry, err := s.store.ClearHistoryAs(c.Request.Context(), c.Param("tenant"), caller(c).Email, map[string]any{"request_id": requestID(c)})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": n, "entry": entry})
}

// WriteHistoryCSV writes site history entries as the API's CSV export does (the console's
// download is the same file).
func WriteHistoryCSV(w io.Writer, entries []store.HistoryEntry, loc *time.Location) error {
	return writeHistoryCSV(w, entries, loc)
}
