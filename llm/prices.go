package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
)

// A Price is what a model's tokens cost, in US dollars per million tokens.
type Price struct {
	Input  float64 `json:"input_per_mtok"`
	Output float64 `json:"output_per_mtok"`
}

// Prices is a price table: the Price of each model, by name. A Transport
// with Prices records each priced call's cost in its metadata ("cost_usd").
// comply has no built-in prices: they change, and only the table's owner
// knows which apply.
//
// A call is priced by the model that answered, then by the model
// requested, each first as named and then without a "models/" prefix or a
// dated snapshot suffix ("-2025-04-14", "-20250929"): an entry for
// "gpt-4.1" prices "gpt-4.1-2025-04-14", but not "gpt-4.1-mini".
type Prices map[string]Price

// ParsePrices reads a price table in its JSON format:
//
//	{"models": {"gpt-4.1": {"input_per_mtok": 2.00, "output_per_mtok": 8.00}}}
//
// Prices are US dollars per million tokens; a price left out is 0.
// Unknown fields, negative or non-finite prices, and an empty table are
// errors.
func ParsePrices(data []byte) (Prices, error) {
	var f struct {
		Models map[string]Price `json:"models"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	if d.More() {
		return nil, errors.New("price table: data after the JSON object")
	}
	if len(f.Models) == 0 {
		return nil, errors.New(`price table: no "models"`)
	}
	for m, p := range f.Models {
		if m == "" {
			return nil, errors.New("price table: a model with no name")
		}
		for _, v := range []float64{p.Input, p.Output} {
			if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("price table: model %q: a price must be a non-negative number", m)
			}
		}
	}
	return Prices(f.Models), nil
}

// LoadPrices reads the price table file at path (see ParsePrices).
func LoadPrices(path string) (Prices, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read prices %s: %w", path, err)
	}
	p, err := ParsePrices(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// lookup returns the price of the first of the models that the table
// prices, as named or by its base name.
func (p Prices) lookup(models ...string) (Price, bool) {
	for _, m := range models {
		if m == "" {
			continue
		}
		if pr, ok := p[m]; ok {
			return pr, true
		}
		if b := baseModel(m); b != m {
			if pr, ok := p[b]; ok {
				return pr, true
			}
		}
	}
	return Price{}, false
}

// baseModel returns a model name without a "models/" prefix and a dated
// snapshot suffix: -YYYY-MM-DD or -YYYYMMDD.
func baseModel(m string) string {
	m = strings.TrimPrefix(m, "models/")
	if loc := snapshot.FindStringIndex(m); loc != nil && loc[0] > 0 {
		return m[:loc[0]]
	}
	return m
}

var snapshot = regexp.MustCompile(`-20[0-9]{2}(-[0-9]{2}-[0-9]{2}|[0-9]{4})$`)

// cost returns the cost in US dollars of in input and out output tokens,
// rounded to a billionth, and whether it is known: a count the price
// needs must be known.
func (pr Price) cost(in, out *int64) (float64, bool) {
	var c float64
	switch {
	case in != nil:
		c += float64(*in) * pr.Input
	case pr.Input != 0:
		return 0, false
	}
	switch {
	case out != nil:
		c += float64(*out) * pr.Output
	case pr.Output != 0:
		return 0, false
	}
	if in == nil && out == nil {
		return 0, false
	}
	return math.Round(c/1e6*1e9) / 1e9, true
}
