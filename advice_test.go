package comply_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cliAdvice matches what only the command line may say: a hint, a flag
// ("--out"), or a quoted comply command ("'comply keygen'").
var cliAdvice = regexp.MustCompile("(?i)hint:|\\s--[a-z]|['`]comply [a-z]")

// TestNoCLIAdviceInLibrary keeps library errors terse facts: no string
// literal in a library package gives a hint, names a flag or quotes a
// comply command. The CLI (cmd/, and any other package main) maps errors
// to hints; test files and test tooling (miniotest, which tells how to get
// MinIO) are exempt, and so are nested modules.
func TestNoCLIAdviceInLibrary(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path == "cmd" || d.Name() == "testdata" || d.Name() == "miniotest" || strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != "." {
				return filepath.SkipDir // a nested module
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Errorf("%s: %v", fset.Position(lit.Pos()), err)
				return true
			}
			if m := cliAdvice.FindString(s); m != "" {
				t.Errorf("%s: library string gives CLI advice (%q): %s", fset.Position(lit.Pos()), m, lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
