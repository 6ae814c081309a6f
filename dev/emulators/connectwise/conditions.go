package connectwise

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/shopspring/decimal"
)

// The conditions grammar, as assembled from clients and vendor docs (psa-apis.md 1.4; no
// official table exists):
//
//	expr       = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | "(" expr ")" | comparison
//	comparison = path op value
//	           | path ["not"] "in" "(" value { "," value } ")"
//	           | path ["not"] ("like" | "contains") string
//	op         = "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//	value      = string | number | "[" datetime "]" | true | false | null
//
// Keywords are case-insensitive; strings take double or single quotes with backslash
// escapes; paths use slashes for nested references (company/id). Anything else is a 400.
// Unconfirmed: precedence (and binds tighter than or here, as in SQL), case-insensitive
// string comparison (SQL Server's default collation), and like wildcards (% and * both
// match any run, _ one character, [x] a literal x).

type litKind int

const (
	litString litKind = iota
	litNumber
	litTime
	litBool
	litNull
)

type literal struct {
	kind litKind
	s    string
	n    decimal.Decimal
	t    time.Time
	b    bool
}

type cond interface{ eval(d doc) bool }

type andCond struct{ l, r cond }
type orCond struct{ l, r cond }
type notCond struct{ x cond }

type cmpCond struct {
	path []string // canonical segments
	kind kind     // the field's kind (a ref's subfield resolved)
	op   string   // = != < <= > >= like contains in
	neg  bool     // not in / not like / not contains
	vals []literal
}

func (c andCond) eval(d doc) bool { return c.l.eval(d) && c.r.eval(d) }
func (c orCond) eval(d doc) bool  { return c.l.eval(d) || c.r.eval(d) }
func (c notCond) eval(d doc) bool { return !c.x.eval(d) }

// parseConditions parses and type-checks expr against res.
func parseConditions(res *resource, expr string) (cond, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks, res: res}
	c, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("unexpected %q at position %d", t.text, t.pos)
	}
	return c, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tTime
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	text string // identifiers and operators as written; strings unescaped
	pos  int
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '(':
			out = append(out, token{tLParen, "(", i})
			i++
		case c == ')':
			out = append(out, token{tRParen, ")", i})
			i++
		case c == ',':
			out = append(out, token{tComma, ",", i})
			i++
		case c == '=':
			out = append(out, token{tOp, "=", i})
			i++
		case c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && (s[i+1] == '=' || (c == '<' && s[i+1] == '>')) {
				op += string(s[i+1])
			}
			if op == "!" {
				return nil, fmt.Errorf("unexpected '!' at position %d", i)
			}
			if op == "<>" {
				op = "!="
			}
			out = append(out, token{tOp, op, i})
			i += len(op)
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' {
					if j+1 >= len(s) {
						return nil, fmt.Errorf("unterminated string at position %d", i)
					}
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at position %d", i)
			}
			out = append(out, token{tString, b.String(), i})
			i = j + 1
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [datetime] at position %d", i)
			}
			out = append(out, token{tTime, s[i+1 : i+j], i})
			i += j + 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			out = append(out, token{tNumber, s[i:j], i})
			i = j
		case c == '_' || c < 0x80 && unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '/' || s[j] < 0x80 && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])))) {
				j++
			}
			out = append(out, token{tIdent, s[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at position %d", c, i)
		}
	}
	return append(out, token{tEOF, "end of conditions", len(s)}), nil
}

// maxDepth bounds nesting so a hostile conditions string cannot exhaust the stack.
const maxDepth = 64

type condParser struct {
	toks []token
	i    int
	res  *resource
}

func (p *condParser) peek() token { return p.toks[p.i] }
func (p *condParser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *condParser) keyword(words ...string) bool {
	t := p.peek()
	if t.kind != tIdent {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

func (p *condParser) or(depth int) (cond, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		p.next()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = orCond{l, r}
	}
	return l, nil
}

func (p *condParser) and(depth int) (cond, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		p.next()
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = andCond{l, r}
	}
	return l, nil
}

func (p *condParser) unary(depth int) (cond, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("conditions nested too deeply")
	}
	if p.keyword("not") {
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notCond{x}, nil
	}
	if p.peek().kind == tLParen {
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tRParen {
			return nil, fmt.Errorf("expected ')' at position %d, found %q", t.pos, t.text)
		}
		return x, nil
	}
	return p.comparison()
}

func (p *condParser) comparison() (cond, error) {
	t := p.next()
	if t.kind != tIdent || isKeyword(t.text) {
		return nil, fmt.Errorf("expected a field name at position %d, found %q", t.pos, t.text)
	}
	path, k, err := resolvePath(p.res, t.text)
	if err != nil {
		return nil, err
	}
	c := cmpCond{path: path, kind: k}
	if p.keyword("not") {
		p.next()
		c.neg = true
		if !p.keyword("in", "like", "contains") {
			return nil, fmt.Errorf("expected in, like or contains after not at position %d", p.peek().pos)
		}
	}
	switch op := p.next(); {
	case op.kind == tOp && !c.neg:
		c.op = op.text
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		c.vals = []literal{v}
	case op.kind == tIdent && strings.EqualFold(op.text, "in"):
		c.op = "in"
		if t := p.next(); t.kind != tLParen {
			return nil, fmt.Errorf("expected '(' after in at position %d", t.pos)
		}
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
			t := p.next()
			if t.kind == tRParen {
				break
			}
			if t.kind != tComma {
				return nil, fmt.Errorf("expected ',' or ')' at position %d, found %q", t.pos, t.text)
			}
		}
	case op.kind == tIdent && (strings.EqualFold(op.text, "like") || strings.EqualFold(op.text, "contains")):
		c.op = strings.ToLower(op.text)
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		c.vals = []literal{v}
	default:
		return nil, fmt.Errorf("expected an operator after %s at position %d, found %q", t.text, op.pos, op.text)
	}
	if err := c.typecheck(t.text); err != nil {
		return nil, err
	}
	return c, nil
}

func isKeyword(s string) bool {
	switch strings.ToLower(s) {
	case "and", "or", "not", "in", "like", "contains", "null", "true", "false":
		return true
	}
	return false
}

func (p *condParser) value() (literal, error) {
	t := p.next()
	switch t.kind {
	case tString:
		return literal{kind: litString, s: t.text}, nil
	case tNumber:
		if len(t.text) > 64 {
			return literal{}, fmt.Errorf("number too long at position %d", t.pos)
		}
		n, err := decimal.NewFromString(t.text)
		if err != nil {
			return literal{}, fmt.Errorf("bad number %q at position %d", t.text, t.pos)
		}
		return literal{kind: litNumber, n: n}, nil
	case tTime:
		tm, err := parseTime(strings.TrimSpace(t.text))
		if err != nil {
			return literal{}, fmt.Errorf("bad datetime [%s] at position %d", t.text, t.pos)
		}
		return literal{kind: litTime, t: tm}, nil
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true":
			return literal{kind: litBool, b: true}, nil
		case "false":
			return literal{kind: litBool, b: false}, nil
		case "null":
			return literal{kind: litNull}, nil
		}
	}
	return literal{}, fmt.Errorf("expected a value at position %d, found %q", t.pos, t.text)
}

// typecheck refuses comparisons the server could not mean, so a client bug shows as a 400
// rather than as an empty result.
func (c cmpCond) typecheck(name string) error {
	for _, v := range c.vals {
		if v.kind == litNull {
			if c.op != "=" && c.op != "!=" {
				return fmt.Errorf("%s %s null: null only compares with = and !=", name, c.op)
			}
			continue
		}
		want := map[kind]litKind{kString: litString, kInt: litNumber, kNumber: litNumber, kBool: litBool, kTime: litTime}[c.kind]
		if v.kind != want {
			return fmt.Errorf("%s cannot be compared with a %s", name, [...]string{"string", "number", "datetime", "boolean", "null"}[v.kind])
		}
	}
	switch c.op {
	case "like", "contains":
		if c.kind != kString {
			return fmt.Errorf("%s: %s works on text fields only", name, c.op)
		}
	case "<", "<=", ">", ">=":
		if c.kind == kBool {
			return fmt.Errorf("%s: booleans only compare with = and !=", name)
		}
	}
	return nil
}

// resolvePath finds a condition path's canonical segments and kind. lastUpdated (and the
// other _info stamps) work on every record, declared or not.
func resolvePath(res *resource, p string) ([]string, kind, error) {
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return nil, 0, fmt.Errorf("bad field path %q", p)
		}
	}
	name, f, ok := res.lookup(segs[0])
	if !ok {
		if len(segs) == 1 {
			if k, stamp := infoField(segs[0]); stamp != "" {
				return []string{"_info", stamp}, k, nil
			}
		}
		return nil, 0, fmt.Errorf("unknown field %q on %s", segs[0], res.object)
	}
	switch {
	case name == "_info" && len(segs) == 2:
		k, stamp := infoField(segs[1])
		if stamp == "" {
			return nil, 0, fmt.Errorf("unknown field %q", p)
		}
		return []string{"_info", stamp}, k, nil
	case len(segs) == 1:
		if f.kind == kRef || f.kind == kObject || f.kind == kArray {
			return nil, 0, fmt.Errorf("field %q is not a value; use a path such as %s/id (arrays need childConditions)", p, name)
		}
		return []string{name}, f.kind, nil
	case f.kind == kRef && len(segs) == 2:
		switch sub := strings.ToLower(segs[1]); sub {
		case "id":
			return []string{name, "id"}, kInt, nil
		case "identifier", "name":
			return []string{name, sub}, kString, nil
		}
	}
	return nil, 0, fmt.Errorf("unknown field %q on %s", p, res.object)
}

func infoField(s string) (kind, string) {
	switch strings.ToLower(s) {
	case "lastupdated":
		return kTime, "lastUpdated"
	case "dateentered":
		return kTime, "dateEntered"
	case "updatedby":
		return kString, "updatedBy"
	case "enteredby":
		return kString, "enteredBy"
	}
	return 0, ""
}

func valueAt(d doc, path []string) any {
	var cur any = d
	for _, s := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[s]
	}
	return cur
}

func (c cmpCond) eval(d doc) bool {
	v := valueAt(d, c.path)
	switch c.op {
	case "in":
		for _, l := range c.vals {
			if equals(c.kind, v, l) {
				return !c.neg
			}
		}
		return c.neg && v != nil
	case "like", "contains":
		s, ok := v.(string)
		if !ok {
			return false
		}
		var m bool
		if c.op == "contains" {
			m = strings.Contains(strings.ToLower(s), strings.ToLower(c.vals[0].s))
		} else {
			m = likeMatch(strings.ToLower(c.vals[0].s), strings.ToLower(s))
		}
		return m != c.neg
	case "=":
		return equals(c.kind, v, c.vals[0])
	case "!=":
		if c.vals[0].kind == litNull {
			return v != nil
		}
		return v != nil && !equals(c.kind, v, c.vals[0])
	}
	if v == nil {
		return false // SQL: comparing with null is never true
	}
	r := order(c.kind, v, c.vals[0])
	switch c.op {
	case "<":
		return r < 0
	case "<=":
		return r <= 0
	case ">":
		return r > 0
	case ">=":
		return r >= 0
	}
	return false
}

func equals(k kind, v any, l literal) bool {
	if l.kind == litNull {
		return v == nil
	}
	if v == nil {
		return false
	}
	if k == kBool {
		b, ok := v.(bool)
		return ok && b == l.b
	}
	return order(k, v, l) == 0
}

// order compares a stored value with a literal of the matching kind.
func order(k kind, v any, l literal) int {
	switch k {
	case kInt, kNumber:
		n, ok := numberOf(v)
		if !ok {
			return -2
		}
		return n.Cmp(l.n)
	case kTime:
		s, _ := v.(string)
		t, err := parseTime(s)
		if err != nil {
			return -2
		}
		return t.Compare(l.t)
	case kString:
		s, _ := v.(string)
		return strings.Compare(strings.ToLower(s), strings.ToLower(l.s))
	}
	return -2
}

// compareValues orders two stored values of one kind (orderBy); nil sorts first.
func compareValues(k kind, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch k {
	case kBool:
		ab, _ := a.(bool)
		bb, _ := b.(bool)
		switch {
		case ab == bb:
			return 0
		case !ab:
			return -1
		}
		return 1
	case kInt, kNumber:
		an, _ := numberOf(a)
		bn, _ := numberOf(b)
		return an.Cmp(bn)
	}
	as, _ := a.(string)
	bs, _ := b.(string)
	if k == kTime {
		return strings.Compare(as, bs) // stored normalized, so text order is time order
	}
	return strings.Compare(strings.ToLower(as), strings.ToLower(bs))
}

// likeMatch matches SQL-style patterns: % or * any run, _ one character, [x] a literal x.
func likeMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	// Iterative matching with backtracking on the last wildcard.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(str) {
		if pi < len(p) {
			switch c := p[pi]; {
			case c == '%' || c == '*':
				star, mark = pi, si
				pi++
				continue
			case c == '_':
				pi++
				si++
				continue
			case c == '[' && pi+2 < len(p) && p[pi+2] == ']':
				if p[pi+1] == str[si] {
					pi += 3
					si++
					continue
				}
			case c == str[si]:
				pi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		pi = star + 1
		mark++
		si = mark
	}
	for pi < len(p) && (p[pi] == '%' || p[pi] == '*') {
		pi++
	}
	return pi == len(p)
}
