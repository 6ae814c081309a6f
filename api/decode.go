package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"
	"github.com/go-playground/validator/v10"
	"github.com/shopspring/decimal"

	"github.com/meterbridge/meterbridge/tenant"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 64 << 10

func init() {
	// Field names in validation errors are the JSON names clients send.
	if v, ok := binding.Validator.Engine().(*validator.Validate); ok {
		v.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
		must(v.RegisterValidation("iana_tz", func(fl validator.FieldLevel) bool {
			return tenant.ValidateTimeZone("", fl.Field().String()) == nil
		}))
		must(v.RegisterValidation("tenant_id", func(fl validator.FieldLevel) bool {
			return tenant.ValidID(fl.Field().String())
		}))
		must(v.RegisterValidation("mailaddr", func(fl validator.FieldLevel) bool {
			return tenant.ValidateEmail(fl.Field().String()) == nil
		}))
		must(v.RegisterValidation("single_line", func(fl validator.FieldLevel) bool {
			return singleLine(fl.Field().String())
		}))
		// Quantities: decimal.Decimal fields tagged quantity must be non-negative and of sane
		// size (1e9999 parses, then prints as ten thousand digits; see tenant.SaneDecimal).
		must(v.RegisterValidation("quantity", func(fl validator.FieldLevel) bool {
			d, ok := fl.Field().Interface().(decimal.Decimal)
			return ok && tenant.SaneDecimal(d) && !d.IsNegative()
		}))
		must(v.RegisterValidation("decimal", func(fl validator.FieldLevel) bool {
			d, ok := fl.Field().Interface().(decimal.Decimal)
			return ok && tenant.SaneDecimal(d)
		}))
	}
}

// singleLine reports whether s is valid UTF-8 without control characters (names and labels
// end up in e-mails, CSV exports and logs).
func singleLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// bindJSON decodes the body strictly (one JSON value, no unknown fields, at most
// MaxBodyBytes) into dst and validates its binding tags.
func bindJSON(c *gin.Context, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("request body exceeds %d bytes", MaxBodyBytes)}
		}
		return errBadRequest("invalid_body", "", "could not read the request body")
	}
	if err := decodeStrict(body, dst); err != nil {
		return err
	}
	return validate(dst)
}

// decodeStrict is the JSON half of bindJSON, separate so fuzz tests can drive it.
func decodeStrict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errBadRequest("invalid_json", "", "request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errBadRequest("invalid_json", "", "request body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest("invalid_json", "", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error) *apiError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return errBadRequest("invalid_json", "", "malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		return errBadRequest("invalid_type", typ.Field, "%s must be %s, not %s", orDefault(typ.Field, "body"), typeWords(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errBadRequest("unknown_field", field, "unknown field %q", field)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errBadRequest("invalid_json", "", "malformed JSON: the body ends too early")
	}
	var fe *tenant.FieldError
	if errors.As(err, &fe) {
		return errInvalid(fe.Field, "%s", fe.Reason)
	}
	return errBadRequest("invalid_json", "", "malformed JSON: %v", err)
}

func typeWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// validate runs the binding tags and turns the first failure into a 422 naming the field.
func validate(dst any) error {
	if binding.Validator == nil {
		return nil
	}
	err := binding.Validator.ValidateStruct(dst)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) || len(verrs) == 0 {
		return errInvalid("", "%v", err)
	}
	fe := verrs[0]
	field := fieldPath(fe.Namespace())
	return errInvalid(field, "%s", ruleWords(fe))
}

// fieldPath drops the struct name validator puts first ("createTenant.time_zone").
func fieldPath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func ruleWords(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "iana_tz":
		return "must be an IANA time zone name such as Europe/Berlin"
	case "tenant_id":
		return "must be 2–40 lower-case letters, digits and dashes, starting with a letter or digit"
	case "mailaddr", "email":
		return "must be a valid e-mail address"
	case "single_line":
		return "must be text without control characters"
	case "quantity":
		return "must be a non-negative decimal number of at most 40 digits"
	case "decimal":
		return "must be a decimal number of at most 40 digits"
	case "required_if", "required_unless":
		return "is required here (" + fe.Tag() + " " + fe.Param() + ")"
	case "excluded_if", "excluded_unless":
		return "must not be given here (" + fe.Tag() + " " + fe.Param() + ")"
	case "url", "http_url":
		return "must be a URL"
	case "min":
		return "must be at least " + fe.Param()
	case "max":
		return "must be at most " + fe.Param()
	case "gt":
		return "must be greater than " + fe.Param()
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	case "oneof":
		return "must be one of: " + fe.Param()
	case "required_with":
		return "is required together with " + fe.Param()
	case "required_without":
		return "is required unless " + fe.Param() + " is given"
	case "excluded_with":
		return "must not be given together with " + fe.Param()
	case "dive", "unique":
		return "must not repeat values"
	}
	return "is invalid (" + fe.Tag() + ")"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// queryInt reads a bounded integer query parameter.
func queryInt(c *gin.Context, name string, def, min, max int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	var n int
	if _, err := fmt.Sscan(v, &n); err != nil || fmt.Sprint(n) != v {
		return 0, errBadRequest("invalid_query", name, "%s must be an integer", name)
	}
	if n < min || n > max {
		return 0, errBadRequest("invalid_query", name, "%s must be %d–%d", name, min, max)
	}
	return n, nil
}

// queryBool reads a true/false query parameter.
func queryBool(c *gin.Context, name string) (bool, error) {
	switch v := c.Query(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, errBadRequest("invalid_query", name, "%s must be true or false", name)
	}
}

// rejectUnknownQuery refuses query parameters a route does not take, so a typo such as
// ?limt=5 is reported instead of ignored.
func rejectUnknownQuery(c *gin.Context, allowed ...string) error {
	for k := range c.Request.URL.Query() {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
			}
		}
		if !ok {
			return errBadRequest("unknown_query", k, "unknown query parameter %q", k)
		}
	}
	return nil
}
