package controlplane

import (
	"fmt"
	"path/filepath"

	"github.com/lateenmesh/lateen/bench/report"
)

// Render rewrites the result page and charts in dir from its JSON file,
// after a change to how results are presented, without measuring again.
func Render(dir string) error {
	var res Result
	if err := report.ReadJSON(filepath.Join(dir, JSONFile), &res); err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	return writeResults(dir, &res)
}
