package form

import (
	"net/url"
	"unicode"
)

// Client is the publish page's form of one backup client: include or exclude it, or type
// (or clear) its Managed ID. Nil fields are not in the form.
type Client struct {
	Included  *bool
	ManagedID *string
}

// ParseClient reads a client's form: "included" ("true"/"false") from the include and
// exclude buttons, "managed_id" from the Managed ID form (empty: use the reported one).
func ParseClient(v url.Values) (Client, Errors) {
	errs := Errors{}
	var f Client
	if v.Has("included") {
		switch v.Get("included") {
		case "true":
			t := true
			f.Included = &t
		case "false":
			no := false
			f.Included = &no
		default:
			errs.Add("", "Choose include or exclude")
		}
	}
	if v.Has("managed_id") {
		id := text(v, "managed_id")
		if len([]rune(id)) > 30 {
			errs.Add("managed_id", "A Managed ID is a ConnectWise company identifier: at most 30 characters")
		}
		for _, r := range id {
			if unicode.IsControl(r) {
				errs.Add("managed_id", "A Managed ID is one line")
				break
			}
		}
		f.ManagedID = &id
	}
	if f.Included == nil && f.ManagedID == nil && errs.OK() {
		errs.Add("", "Nothing to save: include or exclude the client, or type its Managed ID")
	}
	return f, errs
}
