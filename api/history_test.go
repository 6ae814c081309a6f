package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meterbridge/meterbridge/store"
)

func TestCSVCellDefusesFormulas(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"'=already", "'=already"},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, csvCell(tc.in), "csvCell(%q)", tc.in)
	}
}

func TestHistoryCSVHasHeaderAndBothTimes(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	at := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC) // 03:30 EDT, the morning DST began
	var buf bytes.Buffer
	require.NoError(t, writeHistoryCSV(&buf, []store.HistoryEntry{
		{ID: 7, At: at, Severity: "warning", Actor: "a@b.example", Action: "psa.switched", Message: "x, \"y\"", Details: json.RawMessage(`{"n":1}`)},
	}, loc))
	require.Equal(t, "id,time_utc,time_local,time_zone,severity,actor,action,message,details\r\n"+
		"7,2026-03-08T07:30:00Z,2026-03-08T03:30:00-04:00,America/New_York,warning,a@b.example,psa.switched,\"x, \"\"y\"\"\",\"{\"\"n\"\":1}\"\r\n",
		buf.String())
}

// FuzzHistoryCSV proves that whatever people type into history fields, the export parses
// back to the same cells (but for the defusing quote and carriage returns, which CRLF
// output folds into line ends) and no cell starts like a formula.
func FuzzHistoryCSV(f *testing.F) {
	for _, s := range []string{"", "=cmd|' /C calc'!A0", "+1", "-1", "@x", "\t=1", "\r=1", "a,b", "\"q\"", "line\nbreak", "crlf\r\nx", " lead", "\x00", "é"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, message, actor string) {
		var buf bytes.Buffer
		h := store.HistoryEntry{ID: 1, At: time.Unix(0, 0), Severity: "info", Actor: actor, Action: "x", Message: message, Details: json.RawMessage(`{}`)}
		if err := writeHistoryCSV(&buf, []store.HistoryEntry{h}, time.UTC); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("export does not parse: %v\n%q", err, buf.String())
		}
		if len(rows) != 2 || len(rows[1]) != len(historyCSVHeader) {
			t.Fatalf("want a header and one row of %d cells, got %q", len(historyCSVHeader), rows)
		}
		for i, in := range map[int]string{5: actor, 7: message} {
			want := strings.ReplaceAll(csvCell(in), "\r", "")
			if rows[1][i] != want {
				t.Fatalf("cell %d: wrote %q, read %q, want %q", i, in, rows[1][i], want)
			}
		}
		for _, cell := range rows[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("cell %q starts like a formula", cell)
			}
		}
	})
}
