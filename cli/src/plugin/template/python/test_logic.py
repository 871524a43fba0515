"""Unit tests of logic.py; they run natively: `python3 -m unittest`."""

import unittest

from logic import Config, net_error, parse_config, request_timeout_ms, target_host_port


class TargetTest(unittest.TestCase):
    def test_parses_every_accepted_form(self):
        self.assertEqual(target_host_port("example.com:22", 0), ("example.com", 22))
        self.assertEqual(target_host_port("192.0.2.1:65535", 0), ("192.0.2.1", 65535))
        self.assertEqual(target_host_port("[::1]:8080", 0), ("::1", 8080))
        self.assertEqual(target_host_port("[::1]", 53), ("::1", 53))
        self.assertEqual(target_host_port("2001:db8::1", 53), ("2001:db8::1", 53))
        self.assertEqual(target_host_port(" localhost ", 80), ("localhost", 80))

    def test_refuses_what_is_not_a_target(self):
        for target, default_port, expected in [
            ("", 80, "no host"),
            (":80", 80, "no host"),
            ("[]:80", 80, "no host"),
            ("host:", 80, "port ``"),
            ("host:http", 80, "port `http`"),
            ("host:0", 80, "port `0`"),
            ("host:70000", 80, "port `70000`"),
            ("[::1", 80, "closing"),
            ("[::1]80", 80, "after `]`"),
            ("host", 0, "needs a port"),
            ("2001:db8::1", 0, "needs a port"),
        ]:
            with self.subTest(target=target):
                with self.assertRaises(ValueError) as caught:
                    target_host_port(target, default_port)
                self.assertIn(expected, str(caught.exception))


class ConfigTest(unittest.TestCase):
    def test_defaults_and_values(self):
        self.assertEqual(parse_config(""), Config(port=80, timeout_ms=None))
        self.assertEqual(parse_config("{}"), Config())
        self.assertEqual(parse_config('{"port": 443, "timeout_ms": 500}'), Config(443, 500))

    def test_bad_configs_name_the_field(self):
        for text, field in [
            ('{"prot": 1}', "prot"),
            ('{"port": 0}', "port"),
            ('{"port": true}', "port"),
            ('{"timeout_ms": 0}', "timeout_ms"),
            ("[]", "object"),
            ("{", "JSON"),
        ]:
            with self.subTest(text=text):
                with self.assertRaises(ValueError) as caught:
                    parse_config(text)
                self.assertTrue(str(caught.exception).startswith("config: "))
                self.assertIn(field, str(caught.exception))

    def test_request_timeouts_stay_within_the_budget(self):
        self.assertEqual(request_timeout_ms(None, 1000), 1000)
        self.assertEqual(request_timeout_ms(200, 1000), 200)
        self.assertEqual(request_timeout_ms(5000, 1000), 1000)


class NetErrorTest(unittest.TestCase):
    def test_statuses_follow_the_failure(self):
        self.assertEqual(net_error("timeout", None), ("TIMEOUT", "no answer within the timeout"))
        self.assertEqual(net_error("refused", None), ("REFUSED", "the target refused the connection"))
        self.assertEqual(
            net_error("unreachable", "no route"), ("UNREACHABLE", "the target is unreachable: no route")
        )
        self.assertEqual(net_error("denied", "tcp is not granted"), ("ERROR", "denied: tcp is not granted"))
        self.assertEqual(net_error("dns", "nxdomain"), ("ERROR", "name resolution failed: nxdomain"))


if __name__ == "__main__":
    unittest.main()
