package controlplane

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Render rewrites the result page and charts in dir from its JSON file,
// after a change to how results are presented, without measuring again.
func Render(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		return fmt.Errorf("controlplane: %w", err)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("controlplane: %s: %w", JSONFile, err)
	}
	return writeResults(dir, &res)
}
