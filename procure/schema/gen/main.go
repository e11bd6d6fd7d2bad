// Command gen writes the JSON Schema files of package schema.
package main

import (
	"fmt"
	"os"

	"github.com/supplywatch/supplywatch/procure/schema"
)

func main() {
	for _, n := range schema.Names() {
		b, err := schema.Generate(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(n+".schema.json", b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
