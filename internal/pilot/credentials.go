package pilot

import (
	"context"

	"github.com/lateenmesh/lateen/internal/config"
	"github.com/lateenmesh/lateen/internal/credentials"
)

// credentialsStore holds the latest credentials and config set, so that a
// change of either rebuilds the snapshot. Guarded by Pilot.pubMu.
type credentialsStore struct {
	creds   *credentials.Set
	lastSet *config.Set
}

// runCredentials watches CredentialsDir (when set) and republishes the
// latest configuration when the credentials change.
func (p *Pilot) runCredentials(ctx context.Context) error {
	if p.opts.CredentialsDir == "" {
		return nil
	}
	dir := credentials.NewDir(credentials.DirOptions{Path: p.opts.CredentialsDir, Logger: p.opts.Logger})
	return dir.Run(ctx, func(s *credentials.Set) {
		p.pubMu.Lock()
		p.store.creds = s
		p.pubMu.Unlock()
		p.publish(nil)
	})
}

// latest records set as the latest configuration, or (nil) returns the
// latest one (nil before the first). p.pubMu is held.
func (p *Pilot) latest(set *config.Set) *config.Set {
	if set != nil {
		p.store.lastSet = set
	}
	return p.store.lastSet
}
