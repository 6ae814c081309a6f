package connectwise

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// FieldError is one field-level complaint inside an error body, shaped like the API's
// ValidationError.
type FieldError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
}

// apiError is an error response: {code, message, errors[]}.
type apiError struct {
	status  int
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []FieldError `json:"errors,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// endpointNotFound is the recorded body for a path the API does not have.
func endpointNotFound() *apiError {
	return &apiError{status: http.StatusNotFound, Code: "ConnectWiseApi", Message: "The endpoint does not exist."}
}

// recordNotFound answers a path to a record that does not exist.
// Unconfirmed: the exact code and wording; "NotFound" is the code seen in field errors.
func recordNotFound(object string, id int64) *apiError {
	title := strings.ToUpper(object[:1]) + object[1:]
	return &apiError{status: http.StatusNotFound, Code: "NotFound", Message: fmt.Sprintf("%s recID %d not found.", title, id)}
}

// invalidObject is the 400 that wraps field errors.
func invalidObject(object string, errs []FieldError) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "InvalidObject", Message: object + " object is invalid", Errors: errs}
}

// badRequest is a 400 about the request itself (conditions, orderBy, paging, JSON).
// Unconfirmed: the code the API uses for these; its framework-level errors use ConnectWiseApi.
func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Code: "ConnectWiseApi", Message: fmt.Sprintf(format, args...)}
}

func unauthorized(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, Code: "Unauthorized", Message: msg}
}

func methodNotAllowed(method string) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, Code: "ConnectWiseApi", Message: "The requested resource does not support http method '" + method + "'."}
}

// writeFault renders an injected fault in the API's error shape. Unconfirmed: the body of a
// real 429 (it may come from Cloudflare rather than the API); clients must rely on the
// status and Retry-After only.
func writeFault(w http.ResponseWriter, _ *http.Request, status int, message string) {
	code := "ConnectWiseApi"
	if status == http.StatusTooManyRequests {
		code = "TooManyRequests"
	}
	writeError(w, &apiError{status: status, Code: code, Message: message})
}
