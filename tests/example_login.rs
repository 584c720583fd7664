//! The login example through an independent client: Python's `urllib`
//! with a cookie jar follows the redirects, posts the form with its XSRF
//! field, and sees the page only once signed in, as a browser would.

use std::process::Stdio;

use test_support::{python_stdout, ExampleProcess};

#[test]
fn a_visitor_signs_in_and_out_as_in_a_browser() {
    let example = ExampleProcess::start("login", &["--cookie-secret=test"], Stdio::null());
    let lines = python_stdout(&format!(
        r#"
import re, urllib.parse, urllib.request, http.cookiejar
base = "http://{addr}"
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

page = opener.open(base + "/?tab=a%26b")
print(page.url)
form = page.read().decode()
action = re.search(r'action="([^"]+)"', form).group(1).replace("&amp;", "&")
xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form).group(1)
print(action)

try:
    opener.open(base + action, urllib.parse.urlencode({{"name": "alice"}}).encode())
except urllib.error.HTTPError as e:
    print("without xsrf:", e.code)

data = urllib.parse.urlencode({{"name": "al<i>ce", "_xsrf": xsrf}}).encode()
page = opener.open(base + action, data)
print(page.url)
print(page.read().decode())
print(sorted(c.name for c in jar))

page = opener.open(base + "/logout")
print(page.url)
"#,
        addr = example.addr
    ));
    let addr = example.addr;
    assert_eq!(
        lines.lines().collect::<Vec<_>>(),
        [
            format!("http://{addr}/login?next=%2F%3Ftab%3Da%2526b"),
            "/login?next=%2F%3Ftab%3Da%2526b".to_owned(),
            "without xsrf: 403".to_owned(),
            format!("http://{addr}/?tab=a%26b"),
            "<html><body>Hello, al&lt;i&gt;ce. <a href=\"/logout\">Log out</a></body></html>"
                .to_owned(),
            "['_xsrf', 'user']".to_owned(),
            format!("http://{addr}/login?next=%2F"),
        ]
    );
}
