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
