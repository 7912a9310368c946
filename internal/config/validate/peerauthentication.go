package validate

import (
	security "istio.io/api/security/v1beta1"
)

func validatePeerAuthentication(c *checker, p path, pa *security.PeerAuthentication) {
	if sel := pa.GetSelector(); sel != nil {
		checkSelectorLabels(c, p.field("selector").field("matchLabels"), sel.GetMatchLabels())
	}
	if len(pa.GetPortLevelMtls()) > 0 && len(pa.GetSelector().GetMatchLabels()) == 0 {
		c.errorf(p.field("portLevelMtls"), "portLevelMtls requires a selector with matchLabels; mesh- and namespace-wide policies cannot set it")
	}
	for _, port := range sortedKeys(pa.GetPortLevelMtls()) {
		checkPort(c, p.field("portLevelMtls").key(formatPort(port)), int64(port))
	}
}
