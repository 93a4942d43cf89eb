package parquet

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
)

// Filter is a parsed row condition such as
//
//	status = 'ok' AND amount >= 0 AND NOT (region IN ('test', 'dev'))
//
// Comparisons (=, !=, <>, <, <=, >, >=) put a column on the left and a
// literal on the right: a quoted string for text columns, a number (or
// true/false) for numeric and boolean ones. IN (...) tests membership, IS
// NULL and IS NOT NULL test for nulls; AND binds tighter than OR; NOT and
// parentheses group as in SQL. A comparison with a null is false, and NOT
// simply inverts (so NOT (x = 1) keeps the rows where x is null, where SQL
// would drop them; add AND x IS NOT NULL for SQL's behaviour). Keywords
// are case-insensitive; a column name with spaces or dashes goes in double
// quotes.
type Filter struct {
	text string
	root filterNode
	cols []string
}

// String returns the filter as it was given.
func (f *Filter) String() string { return f.text }

// Columns returns the columns the filter reads, in order of appearance.
func (f *Filter) Columns() []string { return f.cols }

// filterNode is a node of a parsed filter.
type filterNode interface {
	eval(row int, cols map[string]*filterColumn) bool
}

type andNode struct{ a, b filterNode }
type orNode struct{ a, b filterNode }
type notNode struct{ a filterNode }

func (n andNode) eval(r int, c map[string]*filterColumn) bool {
	return n.a.eval(r, c) && n.b.eval(r, c)
}
func (n orNode) eval(r int, c map[string]*filterColumn) bool  { return n.a.eval(r, c) || n.b.eval(r, c) }
func (n notNode) eval(r int, c map[string]*filterColumn) bool { return !n.a.eval(r, c) }

// literal is a constant of a condition.
type literal struct {
	text   string
	num    float64
	isText bool
}

// condNode is one condition on one column.
type condNode struct {
	col  string
	op   string // = != < <= > >= in null notnull
	lits []literal
}

func (n condNode) eval(r int, cols map[string]*filterColumn) bool {
	c := cols[n.col]
	null := c.isNull(r)
	switch n.op {
	case "null":
		return null
	case "notnull":
		return !null
	}
	if null {
		return false
	}
	if c.text != nil {
		v := c.text(r)
		for _, l := range n.lits {
			if compare(n.op, strings.Compare(v, l.text)) {
				return true
			}
		}
		return false
	}
	v := c.num(r)
	if math.IsNaN(v) {
		return n.op == "!="
	}
	for _, l := range n.lits {
		d := 0
		if v < l.num {
			d = -1
		} else if v > l.num {
			d = 1
		}
		if compare(n.op, d) {
			return true
		}
	}
	return false
}

// compare applies op to the sign of a comparison; "in" is equality with
// any of the literals.
func compare(op string, sign int) bool {
	switch op {
	case "=", "in":
		return sign == 0
	case "!=":
		return sign != 0
	case "<":
		return sign < 0
	case "<=":
		return sign <= 0
	case ">":
		return sign > 0
	case ">=":
		return sign >= 0
	}
	return false
}

// filterColumn reads one column of a batch for a filter.
type filterColumn struct {
	isNull func(int) bool
	text   func(int) string  // text columns
	num    func(int) float64 // numeric and boolean columns
}

// ParseFilter parses a filter expression; its errors wrap [ErrUsage].
func ParseFilter(text string) (*Filter, error) {
	p := &filterParser{src: text}
	if err := p.lex(); err != nil {
		return nil, fieldError(ErrUsage, "Filter", "%q: %v", text, err)
	}
	if len(p.toks) == 0 {
		return nil, fieldError(ErrUsage, "Filter", "is empty; give a condition such as status = 'ok'")
	}
	root, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %s", p.toks[p.pos])
	}
	if err != nil {
		return nil, fieldError(ErrUsage, "Filter", "%q: %v", text, err)
	}
	return &Filter{text: text, root: root, cols: p.cols}, nil
}

// check resolves the filter's columns against a file's fields: each must
// exist, and literals must suit the column's type.
func (f *Filter) check(fields []arrow.Field) error {
	byName := map[string]arrow.DataType{}
	for _, fl := range fields {
		byName[fl.Name] = fl.Type
	}
	var walk func(n filterNode) error
	walk = func(n filterNode) error {
		switch n := n.(type) {
		case andNode:
			if err := walk(n.a); err != nil {
				return err
			}
			return walk(n.b)
		case orNode:
			if err := walk(n.a); err != nil {
				return err
			}
			return walk(n.b)
		case notNode:
			return walk(n.a)
		case condNode:
			dt, ok := byName[n.col]
			if !ok {
				names := make([]string, len(fields))
				for i, fl := range fields {
					names[i] = fl.Name
				}
				return fieldError(ErrUsage, "Filter", "names column %q, which the input does not have; columns: %s", n.col, quoteList(names))
			}
			text := isText(dt)
			if !text && !isConvertible(dt) {
				return fieldError(ErrUsage, "Filter", "column %q is %s; filters work on text, numeric and boolean columns", n.col, typeName(dt))
			}
			for _, l := range n.lits {
				if l.isText != text {
					want := "a number"
					if text {
						want = "a quoted string"
					}
					return fieldError(ErrUsage, "Filter", "column %q is %s, so compare it with %s, not %s", n.col, typeName(dt), want, l.text)
				}
			}
		}
		return nil
	}
	return walk(f.root)
}

// mask evaluates the filter on the n rows of a batch, whose filter columns
// are given by name.
func (f *Filter) mask(n int, arrays map[string]arrow.Array) ([]bool, error) {
	cols := make(map[string]*filterColumn, len(arrays))
	for name, a := range arrays {
		c := &filterColumn{isNull: a.IsNull}
		if isText(a.DataType()) {
			c.text = formatter(a)
		} else {
			v, err := valueFunc(a)
			if err != nil {
				return nil, fieldError(ErrBadInput, "Filter", "column %q: %w", name, err)
			}
			c.num = v
		}
		cols[name] = c
	}
	out := make([]bool, n)
	for r := range n {
		out[r] = f.root.eval(r, cols)
	}
	return out, nil
}

// filterParser is a recursive-descent parser over tokens.
type filterParser struct {
	src  string
	toks []token
	pos  int
	cols []string
}

type token struct {
	kind string // ident, string, number, op, punct, keyword
	text string
}

func (t token) String() string {
	if t.kind == "string" {
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

var keywords = []string{"AND", "OR", "NOT", "IN", "IS", "NULL", "TRUE", "FALSE"}

func (p *filterParser) lex() error {
	s := p.src
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if rune(s[j]) == c {
					if j+1 < len(s) && rune(s[j+1]) == c { // doubled quote
						b.WriteByte(s[j])
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return fmt.Errorf("unterminated %c quote", c)
			}
			kind := "string"
			if c == '"' {
				kind = "ident"
			}
			p.toks = append(p.toks, token{kind, b.String()})
			i = j + 1
		case strings.ContainsRune("(),", c):
			p.toks = append(p.toks, token{"punct", string(c)})
			i++
		case strings.ContainsRune("=!<>", c):
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "!=", "<=", ">=", "<>", "==":
				op := map[string]string{"<>": "!=", "==": "="}[two]
				if op == "" {
					op = two
				}
				p.toks = append(p.toks, token{"op", op})
				i += 2
			default:
				if c == '!' {
					return fmt.Errorf("'!' must be followed by '='")
				}
				p.toks = append(p.toks, token{"op", string(c)})
				i++
			}
		case c == '-' || c == '+' || c == '.' || unicode.IsDigit(c):
			j := i + 1
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || strings.ContainsRune(".eE+-", rune(s[j]))) {
				if (s[j] == '+' || s[j] == '-') && s[j-1] != 'e' && s[j-1] != 'E' {
					break
				}
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return fmt.Errorf("%q is not a number", s[i:j])
			}
			p.toks = append(p.toks, token{"number", s[i:j]})
			i = j
		case c == '_' || unicode.IsLetter(c):
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '.' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			word := s[i:j]
			if slices.Contains(keywords, strings.ToUpper(word)) {
				p.toks = append(p.toks, token{"keyword", strings.ToUpper(word)})
			} else {
				p.toks = append(p.toks, token{"ident", word})
			}
			i = j
		default:
			return fmt.Errorf("unexpected character %q", c)
		}
	}
	return nil
}

func (p *filterParser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{kind: "end", text: "end of filter"}
}

func (p *filterParser) accept(kind, text string) bool {
	if t := p.peek(); t.kind == kind && t.text == text {
		p.pos++
		return true
	}
	return false
}

// or parses operands joined by OR, left to right.
func (p *filterParser) or() (filterNode, error) {
	return p.joined("OR", p.and, func(a, b filterNode) filterNode { return orNode{a, b} })
}

// and parses operands joined by AND, left to right.
func (p *filterParser) and() (filterNode, error) {
	return p.joined("AND", p.not, func(a, b filterNode) filterNode { return andNode{a, b} })
}

// joined parses operands (each by operand) joined by the keyword op, and
// combines them from the left with join.
func (p *filterParser) joined(op string, operand func() (filterNode, error), join func(a, b filterNode) filterNode) (filterNode, error) {
	n, err := operand()
	for err == nil && p.accept("keyword", op) {
		var b filterNode
		if b, err = operand(); err == nil {
			n = join(n, b)
		}
	}
	return n, err
}

func (p *filterParser) not() (filterNode, error) {
	if p.accept("keyword", "NOT") {
		n, err := p.not()
		return notNode{n}, err
	}
	if p.accept("punct", "(") {
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.accept("punct", ")") {
			return nil, fmt.Errorf("missing ')' before %s", p.peek())
		}
		return n, nil
	}
	return p.cond()
}

func (p *filterParser) cond() (filterNode, error) {
	t := p.peek()
	if t.kind != "ident" {
		return nil, fmt.Errorf("want a column name, found %s", t)
	}
	p.pos++
	if !slices.Contains(p.cols, t.text) {
		p.cols = append(p.cols, t.text)
	}
	n := condNode{col: t.text}
	switch op := p.peek(); {
	case op.kind == "op":
		p.pos++
		n.op = op.text
		l, err := p.literal()
		if err != nil {
			return nil, err
		}
		n.lits = []literal{l}
	case p.accept("keyword", "IN"):
		n.op = "in"
		if !p.accept("punct", "(") {
			return nil, fmt.Errorf("IN wants a list in parentheses, e.g. region IN ('eu', 'us')")
		}
		for {
			l, err := p.literal()
			if err != nil {
				return nil, err
			}
			n.lits = append(n.lits, l)
			if p.accept("punct", ")") {
				break
			}
			if !p.accept("punct", ",") {
				return nil, fmt.Errorf("want ',' or ')' in the IN list, found %s", p.peek())
			}
		}
	case p.accept("keyword", "IS"):
		n.op = "null"
		if p.accept("keyword", "NOT") {
			n.op = "notnull"
		}
		if !p.accept("keyword", "NULL") {
			return nil, fmt.Errorf("IS must be followed by NULL or NOT NULL")
		}
	default:
		return nil, fmt.Errorf("want a comparison (=, !=, <, <=, >, >=, IN, IS NULL) after %q, found %s", t.text, op)
	}
	return n, nil
}

func (p *filterParser) literal() (literal, error) {
	t := p.peek()
	p.pos++
	switch {
	case t.kind == "string":
		return literal{text: t.text, isText: true}, nil
	case t.kind == "number":
		v, _ := strconv.ParseFloat(t.text, 64)
		return literal{text: t.text, num: v}, nil
	case t.kind == "keyword" && (t.text == "TRUE" || t.text == "FALSE"):
		v := 0.0
		if t.text == "TRUE" {
			v = 1
		}
		return literal{text: t.text, num: v}, nil
	}
	p.pos--
	return literal{}, fmt.Errorf("want a value ('text', a number, true or false), found %s", t)
}
