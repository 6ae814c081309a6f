package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the OpenAPI 3.1 document of this API, maintained by hand beside the
// handlers. api/openapi_test.go keeps it and the route table in step; the integration tests
// validate every answer they get against it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// openAPIJSON is the document as JSON, converted once.
var openAPIJSON = func() []byte {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		panic(fmt.Sprintf("api/openapi.yaml: %v", err))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("api/openapi.yaml as JSON: %v", err))
	}
	return b
}()

// OpenAPI returns the OpenAPI 3.1 document of the API as JSON.
func OpenAPI() []byte { return openAPIJSON }

// openAPI serves the document. It needs no token: it describes the API's shape (public in
// the source anyway) and no tenant's data, and tools fetch it before they hold a token.
func (s *server) openAPI(c *gin.Context) {
	if err := rejectUnknownQuery(c); err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", openAPIJSON)
}
