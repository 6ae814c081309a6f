package secrets

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealedSecretOpensOnlyUnderItsContext(t *testing.T) {
	box, err := ParseKeys(NewKey("a"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal([]byte("private-key"), "tenant/acme/psa")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("private-key")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := box.Open(sealed, "tenant/acme/psa")
	if err != nil || string(got) != "private-key" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(sealed, "tenant/globex/psa"); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("Open under another tenant = %v, want ErrCannotOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := box.Open(sealed, "tenant/acme/psa"); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("Open of an altered value = %v, want ErrCannotOpen", err)
	}
}

func TestRotationKeepsOldValuesReadable(t *testing.T) {
	oldKey, newKey := NewKey("old"), NewKey("new")
	oldBox, _ := ParseKeys(oldKey)
	sealed, _ := oldBox.Seal([]byte("s"), "c")

	rotated, err := ParseKeys(newKey + "," + oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.NeedsReseal(sealed) {
		t.Fatal("value sealed with the old key should need resealing")
	}
	pt, err := rotated.Open(sealed, "c")
	if err != nil || string(pt) != "s" {
		t.Fatalf("old value under rotated keys = %q, %v", pt, err)
	}
	resealed, _ := rotated.Seal(pt, "c")
	if id, _ := KeyID(resealed); id != "new" || rotated.NeedsReseal(resealed) {
		t.Fatalf("resealed with key %q", id)
	}
	newOnly, _ := ParseKeys(newKey)
	if _, err := newOnly.Open(sealed, "c"); !errors.Is(err, ErrCannotOpen) {
		t.Fatalf("old value without the old key = %v, want ErrCannotOpen", err)
	}
}

func TestParseKeysRejectsBadKeys(t *testing.T) {
	for _, spec := range []string{"", "k:short", "k:!!!", "bad id!:" + NewKey("x")[2:], NewKey("a") + "," + NewKey("a")} {
		if _, err := ParseKeys(spec); err == nil {
			t.Errorf("ParseKeys(%q) accepted", spec)
		}
	}
}

// Values sealed before the destination was bound (format 1, the same bytes with another
// first byte) still open under the context they were sealed with, and ask to be re-sealed.
func TestOwnerFormatStillOpensAndNeedsReseal(t *testing.T) {
	key := NewKey("k")
	box, _ := ParseKeys(key)
	sealed, err := box.Seal([]byte("s"), "tenant/acme/psa")
	if err != nil {
		t.Fatal(err)
	}
	if Format(sealed) != FormatDestination || box.NeedsReseal(sealed) {
		t.Fatalf("a fresh value has format %d", Format(sealed))
	}
	old := append([]byte(nil), sealed...)
	old[0] = FormatOwner // the format byte is not authenticated; the context is
	if Format(old) != FormatOwner || !box.NeedsReseal(old) {
		t.Fatalf("format %d, needs reseal %v", Format(old), box.NeedsReseal(old))
	}
	if pt, err := box.Open(old, "tenant/acme/psa"); err != nil || string(pt) != "s" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	for _, bad := range [][]byte{nil, {9, 1, 'k'}, {0, 0}} {
		if Format(bad) != 0 {
			t.Errorf("Format(%v) = %d", bad, Format(bad))
		}
	}
}
