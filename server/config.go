package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/complyhq/comply/policy"
)

// Config is the configuration of comply serve, as its YAML file holds
// it: every key mirrors a flag of the same name with '-' for '_'
// (signing_key and --signing-key), and the flags and COMPLY_* variables
// override the file. Keys and paths only: the file names the files that
// hold secrets, it never holds a secret itself.
type Config struct {
	Listen         string     `yaml:"listen"`           // HOST:PORT
	MetricsListen  string     `yaml:"metrics_listen"`   // serve /metrics on this HOST:PORT instead (no token)
	Store          string     `yaml:"store"`            // DIR or s3://BUCKET/PREFIX?region=...
	Durability     string     `yaml:"durability"`       // always, interval or none
	SigningKey     string     `yaml:"signing_key"`      // FILE of the ledger's signer key
	KeyFile        string     `yaml:"key_file"`         // FILE of the encryption key(s)
	KeySource      string     `yaml:"key_source"`       // SPEC of the encryption key(s), reloaded: env:, file:, aws-sm:, vault:, kms:
	SealTo         string     `yaml:"seal_to"`          // FILE of the HPKE public key that seals content (writers cannot read it)
	SealSession    Duration   `yaml:"seal_session"`     // with seal_to: one encapsulation per session of this length (0: per content)
	IdentityFile   string     `yaml:"identity_file"`    // FILE of the HPKE private key that opens sealed content
	SubjectKey     string     `yaml:"subject_key"`      // metadata key naming the data subject: per-subject data keys (crypto-shredding)
	StoreContent   bool       `yaml:"store_content"`    // store content, encrypted
	HashKeyFile    string     `yaml:"hash_key_file"`    // FILE of the content-hash key
	RetentionDays  int        `yaml:"retention_days"`   // with cleanup_daily
	CleanupDaily   string     `yaml:"cleanup_daily"`    // HH:MM local time
	Tokens         string     `yaml:"tokens"`           // FILE of the tokens (default DIR/.comply/tokens.json)
	TLSCert        string     `yaml:"tls_cert"`         // FILE
	TLSKey         string     `yaml:"tls_key"`          // FILE
	InsecureNoAuth bool       `yaml:"insecure_no_auth"` // no tokens: loopback only
	MaxBody        int64      `yaml:"max_body"`         // bytes
	LogFormat      string     `yaml:"log_format"`       // text or json
	Upstreams      []UpConfig `yaml:"upstreams"`
	Timeouts       Timeouts   `yaml:"timeouts"`

	// Policy is the logging policy (package policy): rules that choose
	// what each interaction's entry holds. Nil logs every interaction as
	// the other keys say. --policy FILE replaces it.
	Policy *policy.Policy `yaml:"policy,omitempty"`
}

// UpConfig configures one upstream of /proxy/{name}/.
type UpConfig struct {
	Name   string `yaml:"name"`
	URL    string `yaml:"url"`
	Input  string `yaml:"input,omitempty"`  // last (default) or all
	Prices string `yaml:"prices,omitempty"` // FILE of a price table
}

// Timeouts bound what slow clients may hold.
type Timeouts struct {
	ReadHeader Duration `yaml:"read_header"` // to read a request's headers
	BodyRead   Duration `yaml:"body_read"`   // to read an ingest body
	Write      Duration `yaml:"write"`       // one write of a streamed answer
	Idle       Duration `yaml:"idle"`        // a keep-alive connection between requests
	Shutdown   Duration `yaml:"shutdown"`    // the drain on SIGTERM
}

// A Duration is a time.Duration written as Go writes one ("30s", "2m").
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 30s or 2m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// DefaultConfig returns the configuration without a file, flags or
// variables.
func DefaultConfig() Config {
	return Config{
		Listen:        "127.0.0.1:8080",
		Store:         "./audit-logs",
		Durability:    "always",
		RetentionDays: 365,
		MaxBody:       DefaultMaxBody,
		LogFormat:     "text",
		Timeouts: Timeouts{
			ReadHeader: Duration(10 * time.Second),
			BodyRead:   Duration(DefaultBodyReadTimeout),
			Write:      Duration(DefaultWriteTimeout),
			Idle:       Duration(120 * time.Second),
			Shutdown:   Duration(30 * time.Second),
		},
	}
}

// A ConfigError says what is wrong with a configuration file.
type ConfigError struct {
	Path string
	Err  error
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *ConfigError) Unwrap() error { return e.Err }

// LoadConfig reads the YAML file at path over cfg: the keys it holds
// replace cfg's values. It is strict: an unknown key, a value of the
// wrong type or a second document is a *ConfigError naming the line.
func LoadConfig(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &ConfigError{Path: path, Err: err}
	}
	return DecodeConfig(path, b, cfg)
}

// DecodeConfig is LoadConfig of the file's contents b (path names it in
// errors).
func DecodeConfig(path string, b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return &ConfigError{Path: path, Err: errors.New(yamlMessage(err))}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return &ConfigError{Path: path, Err: errors.New("more than one YAML document")}
	}
	return cfg.Check()
}

// yamlMessage words a yaml error: "line 3: unknown key colour".
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for _, m := range te.Errors {
			if i := strings.Index(m, ": field "); i >= 0 && strings.Contains(m, " not found in type ") {
				key := strings.TrimPrefix(m[i:], ": field ")
				key = key[:strings.Index(key, " not found")]
				m = m[:i] + ": unknown key " + key
			}
			msgs = append(msgs, m)
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

// Check checks the values that need no file to be read.
func (c *Config) Check() error {
	switch c.Durability {
	case "always", "interval", "none":
	default:
		return fmt.Errorf("durability %q: want always, interval or none", c.Durability)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log_format %q: want text or json", c.LogFormat)
	}
	if c.MaxBody < 0 {
		return fmt.Errorf("max_body %d: want a positive number of bytes", c.MaxBody)
	}
	if (c.KeyFile != "") && (c.KeySource != "") || (c.KeyFile != "" || c.KeySource != "") && c.SealTo != "" {
		return errors.New("key_file, key_source and seal_to each name how content is protected: give one")
	}
	if c.SealSession > 0 && c.SealTo == "" {
		return errors.New("seal_session goes with seal_to")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls_cert and tls_key go together")
	}
	for i, u := range c.Upstreams {
		if !validName(u.Name) {
			return fmt.Errorf("upstreams[%d]: name %q: want letters, digits, '-', '_' or '.'", i, u.Name)
		}
		if u.URL == "" {
			return fmt.Errorf("upstream %s: no url", u.Name)
		}
		if u.Input != "" && u.Input != "last" && u.Input != "all" {
			return fmt.Errorf("upstream %s: input %q: want last or all", u.Name, u.Input)
		}
	}
	return nil
}

// YAML returns the configuration as a YAML file, without secrets: a key
// given as the key itself rather than its file (COMPLY_SIGNING_KEY may
// hold one) is written as "(set)", and a store URL loses its user
// information.
func (c Config) YAML() ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(c.SigningKey), "PRIVATE+KEY+") {
		c.SigningKey = "(set)"
	}
	if i := strings.Index(c.Store, "://"); i > 0 {
		if at := strings.IndexByte(c.Store[i+3:], '@'); at >= 0 {
			c.Store = c.Store[:i+3] + c.Store[i+3+at+1:]
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}
