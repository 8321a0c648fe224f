package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEGoSnippets compiles every ```go block of the README, each in a
// function of its own, in a temporary module that requires this one
// through a replace directive (and the versions that the repository's
// go.mod files pin, for the SDKs the snippets call).
//
// A snippet is a fragment, so the test completes it the way a reader
// would, and nothing more:
//   - it runs inside a function whose parameters are the names the README
//     uses across snippets without declaring them (snippetContext);
//   - "{ ... }" is an empty block;
//   - every package a snippet names (comply., seal., openai., time., ...)
//     is imported, found among the packages that the repository's code
//     imports;
//   - every variable it declares is used once ("_ = x"), as a reader's
//     code would go on to use it.
//
// So a renamed or removed identifier, a wrong type or a wrong argument
// count fails the test; what a snippet does at run time is not checked
// here (the Example functions in example_test.go run the same calls).
func TestREADMEGoSnippets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module; not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to compile the README's snippets: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets := goBlocks(string(b))
	if len(snippets) < 3 {
		t.Fatalf("found %d go blocks in README.md, want 3 or more", len(snippets))
	}

	dir := t.TempDir()
	writeSnippetModule(t, root, dir)
	names := packageNames(t, goBin, root, dir)
	for i, s := range snippets {
		src, err := completeSnippet(i, s, names)
		if err != nil {
			t.Fatalf("README go block %d (line %d) does not parse: %v\n%s", i+1, s.line, err, s.text)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("snippet%d.go", i+1)), src, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), goBin, "build", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the README's go blocks do not compile (snippetN.go is README go block N, line numbers are the generated file's):\n%s", out)
		for i := range snippets {
			src, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("snippet%d.go", i+1)))
			t.Logf("snippet%d.go (README line %d):\n%s", i+1, snippets[i].line, src)
		}
	}
}

// snippetContext declares the names the README's snippets use without
// declaring them: the context, directory, entry id, store and logger of
// the snippets before them.
const snippetContext = "ctx context.Context, dir, id string, s *filestore.Store, logger *comply.Logger"

// A goBlock is one ```go block of the README.
type goBlock struct {
	line int // of its first line of code, from 1
	text string
}

func goBlocks(readme string) []goBlock {
	var out []goBlock
	var cur *goBlock
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```go"):
			cur = &goBlock{line: i + 2}
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}

// requireRE matches a requirement in a go.mod file, inside a require block
// or on a require line.
var requireRE = regexp.MustCompile(`^(?:require\s+)?([^\s()]+)\s+(v\S+)`)

// writeSnippetModule writes the module the snippets compile in: it
// requires this module through a replace directive, and every module that
// the repository's go.mod files require, at their versions (with their
// go.sum lines).
func writeSnippetModule(t *testing.T, root, dir string) {
	t.Helper()
	var mods, sums []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		switch d.Name() {
		case "go.mod":
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			inBlock := false
			for line := range strings.SplitSeq(string(b), "\n") {
				line = strings.TrimSpace(line)
				switch {
				case strings.HasPrefix(line, "require ("):
					inBlock = true
				case inBlock && line == ")":
					inBlock = false
				case inBlock || strings.HasPrefix(line, "require "):
					if m := requireRE.FindStringSubmatch(line); m != nil && m[1] != "github.com/complyhq/comply" {
						mods = append(mods, m[1]+" "+m[2])
					}
				}
			}
		case "go.sum":
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sums = append(sums, strings.Split(strings.TrimSpace(string(b)), "\n")...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(mods)
	slices.Sort(sums)
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module readmesnippets\n\ngo 1.26\n\nrequire github.com/complyhq/comply v0.0.0\n\nreplace github.com/complyhq/comply => %s\n", strconv.Quote(root))
	for _, m := range slices.Compact(mods) {
		fmt.Fprintf(&gomod, "\nrequire %s\n", m)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte(strings.Join(slices.Compact(sums), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// packageNames returns, by package name, the import paths of the packages
// that the repository's Go files import (and of its own packages), as the
// snippet module sees them. A name may have several paths (option: the
// OpenAI and the Anthropic SDK's).
func packageNames(t *testing.T, goBin, root, dir string) map[string][]string {
	t.Helper()
	paths := map[string]bool{"github.com/complyhq/comply": true}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return nil // not our concern here
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(path, "github.com/complyhq/comply/internal") && !strings.HasSuffix(path, "_test") && path != "C" {
				paths[path] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"list", "-e", "-f", "{{.ImportPath}} {{.Name}}"}
	for p := range paths {
		args = append(args, p)
	}
	cmd := exec.CommandContext(t.Context(), goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	names := map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		path, name, ok := strings.Cut(line, " ")
		if ok && name != "" && name != "main" {
			names[name] = append(names[name], path)
		}
	}
	for _, ps := range names {
		slices.Sort(ps)
	}
	return names
}

// completeSnippet makes README go block i a Go file of package
// readmesnippets (see TestREADMEGoSnippets).
func completeSnippet(i int, b goBlock, names map[string][]string) ([]byte, error) {
	imports := map[string]bool{}
	var body strings.Builder
	inImports := false // inside an import ( ... ) block
	for line := range strings.SplitSeq(b.text, "\n") {
		switch t := strings.TrimSpace(line); {
		case t == "import (":
			inImports = true
			continue
		case inImports && t == ")":
			inImports = false
			continue
		case inImports:
			if p, err := strconv.Unquote(t); err == nil {
				imports[p] = true
			}
			continue
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "import "); ok {
			if p, err := strconv.Unquote(strings.TrimSpace(rest)); err == nil {
				imports[p] = true
				continue
			}
		}
		body.WriteString(strings.ReplaceAll(line, "{ ... }", "{}") + "\n")
	}
	src := fmt.Sprintf("package readmesnippets\n\nfunc snippet%d(%s) {\n{\n%s}\n}\n", i+1, snippetContext, body.String())
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "snippet.go", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	useDeclared(f)
	for _, name := range packagesUsed(f) {
		if p := pickPath(names[name], imports); p != "" {
			imports[p] = true
		}
	}
	var out bytes.Buffer
	out.WriteString("package readmesnippets\n\nimport (\n")
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range imports {
			if !yield(p) {
				return
			}
		}
	}) {
		fmt.Fprintf(&out, "\t%q\n", p)
	}
	out.WriteString(")\n\n")
	var fn bytes.Buffer
	if err := format.Node(&fn, fset, f.Decls[0]); err != nil {
		return nil, err
	}
	out.Write(fn.Bytes())
	out.WriteString("\n")
	return out.Bytes(), nil
}

// packagesUsed returns the names X of the selectors X.Y in f whose X is
// not declared in f: the packages it uses.
func packagesUsed(f *ast.File) []string {
	declared := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for _, e := range n.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			}
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			for _, id := range n.Names {
				declared[id.Name] = true
			}
		}
		return true
	})
	used := map[string]bool{"context": true, "comply": true} // snippetContext's
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && !declared[id.Name] {
				used[id.Name] = true
			}
		}
		return true
	})
	return slices.Sorted(func(yield func(string) bool) {
		for n := range used {
			if !yield(n) {
				return
			}
		}
	})
}

// pickPath returns the import path among paths for a package name: the
// only one, or the one that shares the longest prefix with a path already
// imported (openai's option next to openai), or the first.
func pickPath(paths []string, imported map[string]bool) string {
	switch len(paths) {
	case 0:
		return ""
	case 1:
		return paths[0]
	}
	best, bestLen := paths[0], -1
	for _, p := range paths {
		for q := range imported {
			n := 0
			for n < len(p) && n < len(q) && p[n] == q[n] {
				n++
			}
			if n > bestLen {
				best, bestLen = p, n
			}
		}
	}
	return best
}

// useDeclared adds "_ = x" after each declaration of a variable x in f
// (at the start of the body for a declaration in an if, for or range
// header), so that a snippet's variables count as used.
func useDeclared(f *ast.File) {
	use := func(ids []ast.Expr) []ast.Stmt {
		var out []ast.Stmt
		for _, e := range ids {
			if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
				out = append(out, &ast.AssignStmt{
					Lhs: []ast.Expr{ast.NewIdent("_")}, Tok: token.ASSIGN, Rhs: []ast.Expr{ast.NewIdent(id.Name)},
				})
			}
		}
		return out
	}
	defined := func(s ast.Stmt) []ast.Expr {
		switch s := s.(type) {
		case *ast.AssignStmt:
			if s.Tok == token.DEFINE {
				return s.Lhs
			}
		case *ast.DeclStmt:
			var ids []ast.Expr
			if g, ok := s.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, sp := range g.Specs {
					for _, id := range sp.(*ast.ValueSpec).Names {
						ids = append(ids, id)
					}
				}
			}
			return ids
		}
		return nil
	}
	prepend := func(body *ast.BlockStmt, ids []ast.Expr) {
		if body != nil {
			body.List = append(use(ids), body.List...)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BlockStmt:
			var list []ast.Stmt
			for _, s := range n.List {
				list = append(list, s)
				list = append(list, use(defined(s))...)
			}
			n.List = list
		case *ast.IfStmt:
			prepend(n.Body, defined(n.Init))
		case *ast.ForStmt:
			prepend(n.Body, defined(n.Init))
		case *ast.RangeStmt:
			if n.Tok == token.DEFINE {
				prepend(n.Body, []ast.Expr{n.Key, n.Value})
			}
		}
		return true
	})
}
