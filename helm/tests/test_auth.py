"""Access settings of the chart: the tokens file (ORCH_AUTH_TOKENS_FILE) mounted from an existing
Secret into the web pods only, and single sign-on behind a trusted proxy (web.sso: the header
names and trusted CIDRs as environment, config.auth.roles as [auth.roles] of orch.toml)."""

from __future__ import annotations

import unittest

import helm_python

from support import container, env_of, render

WEB = "Deployment/orch-web"
DAEMON = "Deployment/orch-daemon"

SSO = {
    "secrets": {"authTokens": {"existingSecret": "orch-tokens"}},
    "web": {
        "sso": {
            "userHeader": "X-Forwarded-Email",
            "groupsHeader": "X-Forwarded-Groups",
            "trustedProxies": ["10.0.0.0/8", "192.168.1.7"],
        }
    },
    "config": {"auth": {"roles": {"data-eng": "operator", "platform": "admin"}}},
}


class TokensFileTest(unittest.TestCase):
    def test_the_tokens_secret_is_a_file_in_the_web_pods_only(self):
        rendered = render(SSO)
        specs = rendered.pod_specs()
        web = container(specs[WEB], "web")
        path = env_of(web)["ORCH_AUTH_TOKENS_FILE"]["value"]
        self.assertEqual(path, "/var/run/secrets/orch/auth-tokens/tokens.toml")
        mount = next(m for m in web["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
        self.assertTrue(mount["readOnly"])
        volume = next(v for v in specs[WEB]["volumes"] if v["name"] == mount["name"])
        self.assertEqual(volume["secret"]["secretName"], "orch-tokens")
        self.assertEqual(volume["secret"]["items"], [{"key": "tokens.toml", "path": "tokens.toml"}])
        # Mounted without subPath, so the kubelet's refresh of a rotated Secret reaches the pod.
        self.assertNotIn("subPath", mount)
        self.assertNotIn("ORCH_AUTH_TOKENS_FILE", env_of(container(specs[DAEMON], "daemon")))

    def test_without_the_secret_nothing_is_mounted_and_notes_warn(self):
        rendered = render()
        web = container(rendered.pod_specs()[WEB], "web")
        self.assertNotIn("ORCH_AUTH_TOKENS_FILE", env_of(web))
        self.assertNotIn("ORCH_AUTH_PROXY_USER_HEADER", env_of(web))
        self.assertIn("WARNING: secrets.authToken, secrets.authTokens and web.sso", rendered.notes)
        self.assertNotIn("API accepts mutations from anyone", render(SSO).notes)


class SsoTest(unittest.TestCase):
    def test_sso_settings_reach_the_web_pods_and_groups_map_in_orch_toml(self):
        rendered = render(SSO)
        env = env_of(container(rendered.pod_specs()[WEB], "web"))
        self.assertEqual(env["ORCH_AUTH_PROXY_USER_HEADER"]["value"], "X-Forwarded-Email")
        self.assertEqual(env["ORCH_AUTH_PROXY_GROUPS_HEADER"]["value"], "X-Forwarded-Groups")
        self.assertEqual(env["ORCH_TRUSTED_PROXIES"]["value"], "10.0.0.0/8,192.168.1.7")
        toml = rendered.orch_toml()
        self.assertIn("[auth.roles]", toml)
        self.assertIn('data-eng = "operator"', toml)
        self.assertIn('platform = "admin"', toml)

    def test_a_user_header_without_trusted_proxies_is_refused(self):
        values = {"web": {"sso": {"userHeader": "X-Forwarded-Email"}}}
        with self.assertRaises(helm_python.HelmRenderError) as caught:
            render(values)
        self.assertIn("web.sso.trustedProxies", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
