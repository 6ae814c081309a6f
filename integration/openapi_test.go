package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/meterbridge/meterbridge/api"
)

// Every answer the integration tests get from the API is checked against the OpenAPI
// document (api/openapi.yaml, as the API serves it): its status is documented for the route
// and its body matches the schema. A handler that answers something the document does not
// say fails the test that saw it, naming the route and the difference.

var (
	specOnce sync.Once
	spec     validator.Validator
	specErr  error
	// specMu serialises validations; answers of concurrent requests are checked one by one.
	specMu sync.Mutex
)

func openAPIValidator() (validator.Validator, error) {
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(api.OpenAPI())
		if err != nil {
			specErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = fmt.Errorf("%v", errs)
			return
		}
		spec = v
	})
	return spec, specErr
}

// client is the HTTP client of the test's API calls: answers are validated as they arrive.
func (s *stack) client() *http.Client {
	return &http.Client{Transport: validatingTransport{t: s.t, next: http.DefaultTransport}}
}

type validatingTransport struct {
	t    *testing.T
	next http.RoundTripper
}

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil
	}
	if problem := checkAnswer(req, resp, body); problem != "" {
		v.t.Errorf("%s %s answered %d, which api/openapi.yaml does not describe:\n%s\nbody: %.600s\n"+
			"(fix the handler, or document the answer in api/openapi.yaml)", req.Method, req.URL.Path, resp.StatusCode, problem, body)
	}
	return resp, nil
}

// checkAnswer returns what is wrong with an answer, or "".
func checkAnswer(req *http.Request, resp *http.Response, body []byte) string {
	v, err := openAPIValidator()
	if err != nil {
		return "the document does not load: " + err.Error()
	}
	copied := *resp
	copied.Body = io.NopCloser(bytes.NewReader(body))
	specMu.Lock()
	ok, errs := v.ValidateHttpResponse(req, &copied)
	specMu.Unlock()
	if ok {
		return ""
	}
	var msgs []string
	unknownPath := false
	for _, e := range errs {
		if e.ValidationType == "path" {
			unknownPath = true
		}
		m := e.Message
		if e.Reason != "" {
			m += ": " + e.Reason
		}
		for _, se := range e.SchemaValidationErrors {
			m += fmt.Sprintf("\n    at %s (%s): %s", se.FieldPath, se.KeywordLocation, se.Reason)
		}
		msgs = append(msgs, "  - "+m)
	}
	if unknownPath && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
		// A path or method no route has: the answer is still the documented error shape.
		var e struct {
			Error *struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != nil && e.Error.Code != "" && e.Error.Message != "" {
			return ""
		}
	}
	return strings.Join(msgs, "\n")
}
