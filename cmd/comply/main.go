// Command comply is the command-line front end of the comply audit log: it
// logs LLM interactions, reads them back, reports the log's health and
// applies retention, over the same JSONL directories that the Python
// library rotalabs_comply writes.
//
// Run `comply help` for the list of commands, `comply CMD -h` for the flags
// of one, and `comply demo` for a guided tour.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/complyhq/comply/internal/keyfile"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/server/auth"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/s3store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// defaultStore is the store used without --store or COMPLY_STORE.
const defaultStore = "./audit-logs"

// A command is one subcommand of comply.
type command struct {
	name    string
	summary string // one line, for the command list
	run     func(ctx context.Context, c *cli, args []string) error
}

// commands lists the subcommands in the order `comply help` shows them.
var commands []*command

func init() {
	commands = []*command{
		{"demo", "log a realistic sample set and walk through the commands", cmdDemo},
		{"init", "create a store directory, for the commands that write", cmdInit},
		{"log", "record one interaction, or many with --jsonl", cmdLog},
		{"get", "print one entry by id", cmdGet},
		{"query", "list the entries in a time range that match filters", cmdQuery},
		{"count", "print the number of entries", cmdCount},
		{"stats", "print the audit log's health metrics", cmdStats},
		{"export", "write the entries as Parquet for DuckDB, Athena/Trino and Spark", cmdExport},
		{"proxy", "audit the LLM calls of any app as a reverse proxy", cmdProxy},
		{"serve", "run the audit log as an HTTP service (ingest, query, proxy, access log)", cmdServe},
		{"cleanup", "delete the entries older than the retention period", cmdCleanup},
		{"s3", "print or set the S3 lifecycle rules that match the store's retention", cmdS3},
		{"keygen", "generate an encryption key", cmdKeygen},
		{"keys", "list the key ids the store's entries were sealed with", cmdKeys},
		{"decrypt", "decrypt an encrypted content field", cmdDecrypt},
		{"report", "write the compliance report of a period (EU AI Act, SOC 2, HIPAA, ISO 42001, GDPR)", cmdReport},
		{"verify", "check the log against its signed ledger (exit 3 if anything changed)", cmdVerify},
		{"prove", "write an inclusion proof of one entry", cmdProve},
		{"verify-proof", "check an inclusion proof offline", cmdVerifyProof},
		{"evidence", "write a period's evidence pack for an auditor (signed zip)", cmdEvidence},
		{"verify-pack", "check an evidence pack offline (exit 3 if anything changed)", cmdVerifyPack},
		{"attest", "record a signed review of a report", cmdAttest},
		{"rewrap", "re-encrypt the content under another key (key rotation), signed", cmdRewrap},
		{"erase", "crypto-shred a data subject's content (GDPR Art. 17), signed", cmdErase},
		{"seal", "sign the entries the ledger lacks (a Python-written directory)", cmdSeal},
		{"hash", "print the content hash of a text, to search for it", cmdHash},
		{"token", "create, list or revoke the bearer tokens of comply serve", cmdToken},
		{"access-log", "print who read the evidence through comply serve", cmdAccessLog},
		{"bench", "measure logging, lookups, queries and retention on this machine", cmdBench},
		{"version", "print comply's version", cmdVersion},
		{"help", "show the help of comply or of a command", cmdHelp},
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// cli is what every command shares: the standard streams and the global
// flags.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	store          string // --store, COMPLY_STORE or defaultStore
	create         bool   // --create: a write command may create the store
	cmd            string // the running command, for usage hints
	help           func() // prints the running command's help
	subject        string // the subject key of crypto-shredding; "" means COMPLY_SUBJECT_KEY
}

// run runs comply with the arguments (without the program name) and returns
// the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, store: defaultStore}
	if s := os.Getenv("COMPLY_STORE"); s != "" {
		c.store = s
	}
	global := flag.NewFlagSet("comply", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.Usage = func() {}
	global.StringVar(&c.store, "store", c.store, "")
	showVersion := global.Bool("version", false, "")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(stdout)
			return exitOK
		}
		return c.report(flagError(global, err))
	}
	args = global.Args()
	if *showVersion {
		if len(args) > 0 {
			return c.report(usagef("--version takes no command: run 'comply --version' or 'comply version'"))
		}
		return c.report(cmdVersion(ctx, c, nil))
	}
	if len(args) == 0 {
		c.usage(stderr)
		return exitUsage
	}
	cmd := lookup(args[0])
	if cmd == nil {
		return c.report(unknownCommand(args[0]))
	}
	c.cmd = cmd.name
	return c.report(cmd.run(ctx, c, args[1:]))
}

// usage prints the top-level help.
func (c *cli) usage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`comply: an audit log for LLM applications.

Usage:
  comply [--store DIR] COMMAND [flags] [arguments]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(&b, "  %-12s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString(`
Global flags (before or after the command):
  --store DIR   the audit log directory (env COMPLY_STORE; default ./audit-logs)
  --version     print comply's version, as 'comply version' does

Environment:
  COMPLY_STORE          the audit log directory
  COMPLY_DURABILITY     always, interval or none: when a write returns (default always)
  AUDIT_ENCRYPTION_KEY  the Fernet key for encrypted content (or use --key-file FILE)
  COMPLY_SIGNING_KEY    the ledger's signing key, or its file (or use --signing-key FILE)
  COMPLY_VERIFIER_KEY   the ledger's verifier key(s), or their files (or use --verifier-key FILE)
  COMPLY_HASH_KEY_FILE  the file of the content-hash key (or use --hash-key-file FILE)

Exit status: 0 success, 1 error, 2 usage error, 3 does not verify (verify, verify-proof, verify-pack).
Run 'comply COMMAND -h' for the flags of a command. New here? Run 'comply demo'.
`)
	io.WriteString(w, b.String())
}

func cmdHelp(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("help", "[COMMAND]", `
Show the list of commands, or with a command name the usage and flags of
that command, as 'comply COMMAND -h' does.

  comply help query`)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	switch len(rest) {
	case 0:
		c.usage(c.stdout)
		return nil
	case 1:
		cmd := lookup(rest[0])
		if cmd == nil {
			return unknownCommand(rest[0])
		}
		c.cmd = cmd.name
		return cmd.run(ctx, c, []string{"-h"})
	}
	return usagef("help takes at most one command name")
}

// unknownCommand is the usage error for a command name that is not one,
// with the nearest command name as a suggestion.
func unknownCommand(name string) error {
	names := make([]string, len(commands))
	for i, cmd := range commands {
		names[i] = cmd.name
	}
	hint := "run 'comply help' for the list of commands"
	if s := suggest(name, names); s != "" {
		hint = fmt.Sprintf("did you mean 'comply %s'? (%s)", s, hint)
	}
	return &usageError{msg: fmt.Sprintf("unknown command %q", name), hint: hint}
}

// Errors.

// errHelp reports that a command printed its help on request.
var errHelp = errors.New("help requested")

// A usageError is a mistake in the command line: exit status 2.
type usageError struct {
	msg  string
	hint string // "" for the default "run 'comply CMD -h'"
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// A hintError adds a hint, a way to fix the problem, to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

// A statusError ends the command with a status whose cause has already been
// reported on stderr.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// report prints err age-style on stderr and returns the exit code.
func (c *cli) report(err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return exitOK
	}
	var xe *statusError
	if errors.As(err, &xe) {
		return xe.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "comply: error: %s\n", termSafe(ue.msg))
		hint := ue.hint
		if hint == "" {
			if c.cmd != "" {
				hint = fmt.Sprintf("run 'comply %s -h' for usage", c.cmd)
			} else {
				hint = "run 'comply help' for usage"
			}
		}
		fmt.Fprintf(c.stderr, "comply: hint: %s\n", hint)
		return exitUsage
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(c.stderr, "comply: error: interrupted")
		return exitError
	}
	fmt.Fprintf(c.stderr, "comply: error: %s\n", termSafe(trimPrefixes(err.Error())))
	for _, h := range hints(err) {
		fmt.Fprintf(c.stderr, "comply: hint: %s\n", h)
	}
	return exitError
}

// trimPrefixes removes the package prefixes "comply: " and "seal: " that
// library errors carry, which read as noise after "comply: error: ".
func trimPrefixes(msg string) string {
	for _, p := range []string{"comply: ", "seal: "} {
		msg = strings.TrimPrefix(msg, p)
		msg = strings.ReplaceAll(msg, ": "+p, ": ")
	}
	return msg
}

// hints returns the ways to fix err: the hints a command attached with
// withHint, outermost first, or, if it attached none, the hint of the first
// entry of libraryHints that matches err.
func hints(err error) []string {
	var hs []string
	var he *hintError
	for e := err; errors.As(e, &he); e = he.err {
		if !slices.Contains(hs, he.hint) {
			hs = append(hs, he.hint)
		}
	}
	if len(hs) > 0 {
		return hs
	}
	for _, h := range libraryHints {
		if s := h(err); s != "" {
			return []string{s}
		}
	}
	return nil
}

// libraryHints maps the errors of the library packages, which state facts
// and know nothing of the command line, to the advice comply prints with
// them. Each entry returns its hint, or "" if err is not its case. The most
// specific entries come first: the first match wins.
var libraryHints = []func(err error) string{
	// Encryption keys and content.
	is(seal.ErrSharedSigningKey, "generate every key independently with 'comply keygen'"),
	is(seal.ErrInvalidKey, "a key is the 44-character string printed by 'comply keygen' (urlsafe base64 of 32 bytes, as Fernet.generate_key() makes)"),
	is(seal.ErrNoKey, "set "+seal.EnvKey+" to the key printed by 'comply keygen'"),
	is(comply.ErrNoEncryption, "set "+seal.EnvKey+" to a key printed by 'comply keygen', or pass --key-file FILE"),
	is(seal.ErrWrongKey, "if the key was rotated, list the old key after the new one in "+seal.EnvKey+" (comma-separated) or in the key file"),
	is(seal.ErrMalformed, "encrypted content is the base64url-encoded Fernet token that comply or the Python library wrote; check that it was not truncated or edited"),
	as(func(e *seal.KeyFileModeError) string { return "chmod 600 " + e.Path }),

	// The integrity ledger and its keys.
	as(func(e *ledger.KeyFileModeError) string { return "chmod 600 " + e.Path }),
	as(func(e *keyfile.ModeError) string { return "chmod 600 " + e.Path }),
	is(ledger.ErrNoSigner, "'comply keygen --signing --out NAME' writes one"),
	is(ledger.ErrInvalidKey, "'comply keygen --signing --out NAME' writes NAME.signer (the writer's key) and NAME.verifier (the key 'comply verify' checks with)"),
	is(ledger.ErrKeyExists, "choose another --out, or move the old key pair away first"),
	is(ledger.ErrNotCheckpointed, "a running writer signs it within its checkpoint interval; a line the ledger never signed cannot be proven"),
	is(ledger.ErrTampered, "run 'comply verify' to see what changed"),
	is(keyfile.ErrKeyAsPath, "pass the name of the file that holds the key (such as prod.signer), not the key itself"),
	is(ledger.ErrForeign, "run 'comply verify' to see what changed; once reviewed, 'comply seal --reason TEXT' adopts the store as it is, in a signed adoption record"),

	// Tokens of comply serve.
	is(auth.ErrTokenExists, "choose another --name, or revoke the old token first ('comply token revoke NAME')"),
	is(auth.ErrNoSuchToken, "'comply token list' shows the names of the tokens"),

	// Entries.
	is(comply.ErrEntryTooLarge, "log without --store-content to store hashes only, or shorten the metadata"),

	// Stores.
	as(func(e *missingStoreError) string { return e.hint }),
	as(func(e *filestore.LockedError) string {
		return "only one process may write to a store at a time: stop it, or use a read command (get, query, count, stats), which works alongside it"
	}),
	is(s3store.ErrNoRegion, "add ?region=... to the store URL, or set AWS_REGION"),
	is(s3store.ErrAccessDenied, "check the AWS credentials and their policy"),
	is(s3store.ErrCredentialsInURL, "use the standard AWS credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, or an instance role"),
	as(func(*s3store.ObjectLockError) string {
		return "create the bucket with Object Lock enabled, e.g. aws s3api create-bucket --object-lock-enabled-for-bucket"
	}),
	as(func(*s3OpenError) string {
		return "write the store as s3://BUCKET/PREFIX?region=REGION, adding endpoint=http://HOST:PORT for MinIO and other S3-compatible servers (see 'go doc github.com/complyhq/comply/store/s3store')"
	}),
}

// is returns a libraryHints entry that gives hint for errors that wrap
// target.
func is(target error, hint string) func(error) string {
	return func(err error) string {
		if errors.Is(err, target) {
			return hint
		}
		return ""
	}
}

// as returns a libraryHints entry for errors that wrap an E: its hint is
// hint of the first E in err's chain.
func as[E error](hint func(E) string) func(error) string {
	return func(err error) string {
		if e, ok := errors.AsType[E](err); ok {
			return hint(e)
		}
		return ""
	}
}

// Flag sets.

// flagSet returns a flag set for the running command whose -h prints the
// command's usage (synopsis, then description, then flags) on stdout.
func (c *cli) flagSet(name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; parse prints the
	// help only when it was asked for.
	fs.Usage = func() {}
	c.help = func() {
		fmt.Fprintf(c.stdout, "%s\n\n%s\n", strings.TrimSpace("Usage: comply "+name+" "+synopsis), strings.TrimSpace(description))
		printFlags(c.stdout, fs)
	}
	return fs
}

// printFlags prints the flags of fs with double dashes, sorted. An alias
// is not listed on its own: its canonical flag names it.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var flags []*flag.Flag
	aliases := map[string][]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if canon, ok := aliasOf(f); ok {
			aliases[canon] = append(aliases[canon], "--"+f.Name)
			return
		}
		flags = append(flags, f)
	})
	if len(flags) == 0 {
		return
	}
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	fmt.Fprintln(w, "\nFlags:")
	for _, f := range flags {
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			fmt.Fprintf(w, "  --%s %s\n", f.Name, name)
		} else {
			fmt.Fprintf(w, "  --%s\n", f.Name)
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		if a := aliases[f.Name]; len(a) > 0 {
			usage += fmt.Sprintf(" (alias %s)", strings.Join(a, ", "))
		}
		fmt.Fprintf(w, "        %s\n", usage)
	}
}

// flagAliases maps each accepted alias to its canonical flag name: every
// command that has the canonical flag accepts the alias too, so that one
// name works everywhere.
var flagAliases = map[string]string{
	"meta": "metadata",
}

// aliasUsage starts the usage of an alias flag, followed by the canonical
// name.
const aliasUsage = "alias of --"

// addAliases defines on fs the aliases of the canonical flags it has.
func addAliases(fs *flag.FlagSet) {
	for alias, canon := range flagAliases {
		if f := fs.Lookup(canon); f != nil && fs.Lookup(alias) == nil {
			fs.Var(f.Value, alias, aliasUsage+canon)
		}
	}
}

// aliasOf returns the canonical name of f if f is an alias.
func aliasOf(f *flag.Flag) (string, bool) {
	return strings.CutPrefix(f.Usage, aliasUsage)
}

// parse parses args with fs, allowing flags after positional arguments
// ("get ID --decrypt"), and returns the positional arguments. Everything
// after "--" is positional.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	addAliases(fs)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				if c.help != nil {
					c.help()
				}
				return nil, errHelp
			}
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagErrRE finds the flag names in the flag package's errors, which it
// writes with one dash.
var flagErrRE = regexp.MustCompile(`(flag |: )-([A-Za-z])`)

// Parts of the flag package's errors: an undefined flag, and a value that
// does not parse.
var (
	undefinedFlagRE = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	badValueRE      = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]+): (.*)$`)
)

// flagError words a parse error of fs as a usage error with double dashes:
// an unknown flag comes with the nearest flag name, a value that does not
// parse with the form the flag expects.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if m := undefinedFlagRE.FindStringSubmatch(msg); m != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		ue := &usageError{msg: "unknown flag --" + m[1]}
		if s := suggest(m[1], names); s != "" {
			ue.hint = "did you mean --" + s + "?"
		}
		return ue
	}
	if m := badValueRE.FindStringSubmatch(msg); m != nil {
		if f := fs.Lookup(m[2]); f != nil {
			if want := wantOf(f); want != "" {
				return usagef("invalid value %q for flag --%s: want %s", m[1], m[2], want)
			}
		}
		return usagef("invalid value %q for flag --%s: %s", m[1], m[2], m[3])
	}
	return &usageError{msg: flagErrRE.ReplaceAllString(msg, "$1--$2")}
}

// wantOf describes the values that f accepts, from its type and the
// argument name of its usage (MILLISECONDS in "the latency in
// `MILLISECONDS`"), or returns "" to keep the flag's own error.
func wantOf(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return ""
	}
	arg, _ := flag.UnquoteUsage(f)
	var want string
	switch g.Get().(type) {
	case float64:
		want = "a number"
		if arg != "" {
			want += " of " + arg
		}
		return want + ", such as 150 or 12.5"
	case int, int64, uint, uint64:
		want = "an integer"
		if arg != "" && arg != "N" {
			want += " of " + arg
		}
		return want
	case bool:
		return "true or false"
	case time.Duration:
		return "a duration, such as 90s, 15m or 2h"
	}
	return ""
}

// suggest returns the name among names nearest to name, if it is near
// enough to be a likely typo (an edit distance of 1, or 2 for names of five
// characters or more), else "".
func suggest(name string, names []string) string {
	limit := 1
	if len(name) >= 5 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, n := range names {
		if d := editDistance(strings.ToLower(name), n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// the number of insertions, deletions, substitutions and transpositions of
// adjacent bytes that turn a into b.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// setFlags returns the names of the flags given on the command line; an
// alias counts as its canonical flag.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		if canon, ok := aliasOf(f); ok {
			m[canon] = true
			return
		}
		m[f.Name] = true
	})
	return m
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// optInt is an integer flag that knows whether it was given.
type optInt struct {
	v   int64
	set bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}

func (o *optInt) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("want an integer")
	}
	o.v, o.set = v, true
	return nil
}

func (o *optInt) ptr() *int64 {
	if !o.set {
		return nil
	}
	v := o.v
	return &v
}
