// Package secrets seals credentials for storage with AES-256-GCM. Keys come from the
// environment and carry IDs, so a new key can be added and every stored secret re-sealed
// with it (rotation) while the old key still opens what was sealed before.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Box seals and opens secrets. The first key seals; every key opens.
type Box struct {
	primary string
	aeads   map[string]cipher.AEAD
}

// Sealed formats: the first byte of a sealed value. The bytes are laid out alike in both;
// what differs is what the caller bound the value to (the additional data of AES-GCM), so a
// caller knows which context opens a value by its format.
const (
	// FormatOwner values are bound to their owner only ("tenant/acme/psa").
	FormatOwner = 1
	// FormatDestination values are bound to their owner and to where they are sent (the
	// connection's provider and every shown field: URLs, company, user).
	FormatDestination = 2
	// version is the format Seal writes.
	version = FormatDestination
)

// Format returns the format of a sealed value, or 0 when it is not one.
func Format(sealed []byte) int {
	if len(sealed) < 2 || sealed[0] < FormatOwner || sealed[0] > version {
		return 0
	}
	return int(sealed[0])
}

var keyIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseKeys reads "id:base64key[,id:base64key...]" (each key 32 bytes, standard or URL
// base64). The first key is the primary one.
func ParseKeys(spec string) (*Box, error) {
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		id, enc, ok := strings.Cut(part, ":")
		if !ok {
			// A bare key gets the ID "k1" so a single-key setup needs no naming.
			id, enc = "k1", part
		}
		if !keyIDRE.MatchString(id) {
			return nil, fmt.Errorf("secret key %d: ID %q must be 1–32 letters, digits, _ or -", i+1, id)
		}
		raw, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("secret key %q: %w", id, err)
		}
		if _, dup := b.aeads[id]; dup {
			return nil, fmt.Errorf("secret key ID %q given twice", id)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		b.aeads[id] = aead
		if i == 0 {
			b.primary = id
		}
	}
	return b, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != 32 {
				return nil, fmt.Errorf("key is %d bytes, want 32 (generate one with: openssl rand -base64 32)", len(raw))
			}
			return raw, nil
		}
	}
	return nil, errors.New("key is not base64 (generate one with: openssl rand -base64 32)")
}

// NewKey returns a fresh random key in the form ParseKeys reads.
func NewKey(id string) string {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw)
}

// PrimaryKeyID names the key that seals.
func (b *Box) PrimaryKeyID() string { return b.primary }

// Seal encrypts plaintext in the current format (FormatDestination). context binds the
// result to its owner and destination (what the caller puts in it): opening it under
// another context fails, so a sealed value copied to another tenant's row, or left in a row
// whose destination was changed, is useless.
func (b *Box) Seal(plaintext []byte, context string) ([]byte, error) {
	aead := b.aeads[b.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := []byte{version, byte(len(b.primary))}
	out = append(out, b.primary...)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, []byte(context)), nil
}

// ErrCannotOpen means the value was sealed with an unknown key, under another context, or
// was altered.
var ErrCannotOpen = errors.New("secret cannot be opened (wrong key, wrong owner, or altered)")

// Open decrypts a value made by Seal under the same context.
func (b *Box) Open(sealed []byte, context string) ([]byte, error) {
	id, rest, err := splitHeader(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := b.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not configured", ErrCannotOpen, id)
	}
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrCannotOpen
	}
	pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrCannotOpen
	}
	return pt, nil
}

// KeyID returns the ID of the key that sealed a value.
func KeyID(sealed []byte) (string, error) {
	id, _, err := splitHeader(sealed)
	return id, err
}

// NeedsReseal reports whether a value was sealed with a key other than the primary one or
// in an older format.
func (b *Box) NeedsReseal(sealed []byte) bool {
	id, err := KeyID(sealed)
	return err != nil || id != b.primary || Format(sealed) != version
}

func splitHeader(sealed []byte) (string, []byte, error) {
	if Format(sealed) == 0 {
		return "", nil, ErrCannotOpen
	}
	n := int(sealed[1])
	if len(sealed) < 2+n {
		return "", nil, ErrCannotOpen
	}
	return string(sealed[2 : 2+n]), sealed[2+n:], nil
}
