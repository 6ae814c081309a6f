package deploy

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// variable is a ${NAME...} of compose's interpolation.
var variable = regexp.MustCompile(`\$\{[^}]*\}`)

type composeFile struct {
	Services map[string]struct {
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Command     []string          `yaml:"command"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
}

// docker-compose.yml keeps Temporal from being a back door (its access equals admin
// access): the frontend is not published, the Web UI cannot write, and only loopback
// addresses of the host are published at all. Each service logs in to PostgreSQL with its
// own role, not the superuser, and schema changes happen in a migration job only.
// (`docker-compose config` in .ci/run checks the file is valid.)
func TestComposeKeepsTemporalAndPostgreSQLLockedDown(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c))

	require.Empty(t, c.Services["temporal"].Ports, "the Temporal frontend is published on the host")
	for name, s := range c.Services {
		for _, p := range s.Ports {
			require.True(t, strings.HasPrefix(p, "127.0.0.1:"), "%s publishes %s beyond the host's loopback", name, p)
		}
	}
	require.Equal(t, "true", c.Services["temporal-ui"].Environment["TEMPORAL_DISABLE_WRITE_ACTIONS"])

	superuser := c.Services["postgresql"].Environment["POSTGRES_USER"]
	require.Equal(t, "postgres", superuser)
	require.Contains(t, c.Services["postgresql"].Volumes, "./deploy/postgres/init-roles.sh:/docker-entrypoint-initdb.d/10-init-roles.sh:ro")
	for _, name := range []string{"migrate", "worker", "api"} {
		s := c.Services[name]
		u, err := url.Parse(variable.ReplaceAllString(s.Environment["DATABASE_URL"], "x"))
		require.NoError(t, err)
		require.Equal(t, "meterbridge", u.User.Username(), "%s logs in as %s", name, u.User.Username())
		require.Equal(t, "/meterbridge", u.Path)
		require.Equal(t, "${METERBRIDGE_ALLOW_PRIVATE_TARGETS:-false}", s.Environment["METERBRIDGE_ALLOW_PRIVATE_TARGETS"])
	}
	for _, name := range []string{"temporal-schema", "temporal"} {
		require.Equal(t, "temporal", c.Services[name].Environment["POSTGRES_USER"], "%s logs in as another role", name)
	}
	require.Equal(t, []string{"migrate"}, c.Services["migrate"].Command)
	for _, name := range []string{"worker", "api"} {
		require.Equal(t, "service_completed_successfully", c.Services[name].DependsOn["migrate"].Condition, "%s starts before the migration job ends", name)
	}
}
