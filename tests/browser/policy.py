"""What a page reports about the Content-Security-Policy, for the browser tests."""


def watch_for_policy_violations(page) -> list[str]:
    """Collects Content-Security-Policy violations (console and the DOM event) and uncaught script errors."""
    found = []
    page.on("console", lambda message: found.append(f"console: {message.text}")
            if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text else None)
    page.on("pageerror", lambda error: found.append(f"script error: {error}"))
    page.add_init_script("document.addEventListener('securitypolicyviolation', function (e) {"
                         " (window.__cspViolations = window.__cspViolations || []).push(e.violatedDirective); });")
    return found
