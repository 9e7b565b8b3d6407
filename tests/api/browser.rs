//! The pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs), driven over WebDriver. Screenshots of the main pages at 360 px and
//! 1280 px go to `target/screenshots/`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::error::CmdError;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use haven::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, create_user, spawn_app_with};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// A stand-in for the neutral site Quick exit leaves for: this machine has no internet.
const NEUTRAL: &str = "about:blank#neutral";

/// One chromedriver process per test, stopped when the test ends.
struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} must be installed (.ci/run does): {e}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn browser(&self, javascript: bool) -> Client {
        let mut options = json!({
            "binary": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                     "--window-size=360,800"],
        });
        if !javascript {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn demo_app(adjust: impl FnOnce(&mut haven::config::Settings)) -> TestApp {
    let app = spawn_app_with(TestDb::new(), |s| {
        s.quick_exit_url = NEUTRAL.into();
        adjust(s);
    })
    .await;
    let mut conn = app.db.connect();
    for dataset in [haven::seed::Dataset::Hotlines, haven::seed::Dataset::Demo] {
        haven::seed::load(
            &mut conn,
            dataset,
            app.data_key.current(),
            haven::boundaries::Boundaries::bundled(),
        )
        .unwrap();
    }
    app.wait_for_index().await;
    app
}

async fn screenshot(browser: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for (width, height) in [(360, 800), (1280, 900)] {
        browser.set_window_size(width, height).await.unwrap();
        let png = browser.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    }
    browser.set_window_size(360, 800).await.unwrap();
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
}

async fn find_form(browser: &Client, css: &str) -> fantoccini::elements::Form {
    browser
        .form(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no form {css}: {e}"))
}

async fn count(browser: &Client, css: &str) -> usize {
    browser.find_all(Locator::Css(css)).await.unwrap().len()
}

/// Settles a click, key press or form submission that makes the page navigate. ChromeDriver sometimes answers
/// such a command with the value "aborted by navigation" instead of null, when the new page
/// commits before it has replied (seen once in CI under load): the action happened, so that
/// answer is success, and the caller's wait for the next page is what can fail.
fn navigated(result: Result<(), CmdError>) {
    match result {
        Ok(()) => {}
        Err(CmdError::NotW3C(Value::String(answer))) if answer == "aborted by navigation" => {}
        Err(e) => panic!("a navigating action failed: {e}"),
    }
}

#[test]
fn chromedrivers_aborted_by_navigation_answer_counts_as_done() {
    navigated(Ok(()));
    navigated(Err(CmdError::NotW3C(Value::String(
        "aborted by navigation".into(),
    ))));
}

#[test]
#[should_panic(expected = "a navigating action failed")]
fn any_other_answer_to_a_navigating_action_fails() {
    navigated(Err(CmdError::NotW3C(Value::String("stale element".into()))));
}

/// Presses `key` in the element `at`, a key that makes the page navigate.
async fn press_to_navigate(browser: &Client, at: Locator<'_>, key: Key) {
    let element = browser
        .find(at)
        .await
        .unwrap_or_else(|e| panic!("nothing to press {key:?} in: {e}"));
    navigated(element.send_keys(&char::from(key).to_string()).await);
}

/// Clicks the element `at`, which makes the page navigate.
async fn click_to_navigate(browser: &Client, at: Locator<'_>) {
    let element = browser
        .find(at)
        .await
        .unwrap_or_else(|e| panic!("nothing to click: {e}"));
    navigated(element.click().await);
}

/// A demo app, a driver, and a browser with scripts on at the app's `path`.
async fn demo_page(path: &str) -> (TestApp, Driver, Client) {
    let app = demo_app(|_| {}).await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    browser.goto(&app.url(path)).await.unwrap();
    (app, driver, browser)
}

/// Waits (10 s at most) until the page's address passes `test`; `what` says what failed.
async fn wait_for_url(browser: &Client, what: &str, test: impl Fn(&url::Url) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = browser.current_url().await.unwrap();
        if test(&url) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks what `css` finds, where the click does not leave the page (or need not).
async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits for a tab other than `from` to open, and goes to it.
async fn switch_to_new_tab(browser: &Client, from: &fantoccini::wd::WindowHandle) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let windows = browser.windows().await.unwrap();
        if let Some(new) = windows.into_iter().find(|w| w != from) {
            browser.switch_to_window(new).await.unwrap();
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no new tab opened");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Submits `form` as its button would (the page navigates).
async fn submit(form: fantoccini::elements::Form) {
    navigated(form.submit_direct().await);
}

/// Fills the survivor form with a ZIP and needs and submits it.
async fn search(browser: &Client, zip: &str, needs: &[&str]) {
    browser
        .find(Locator::Id("zip"))
        .await
        .unwrap()
        .send_keys(zip)
        .await
        .unwrap();
    for need in needs {
        browser
            .find(Locator::Css(&format!("input[name=need][value={need}]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    // Enter in the ZIP field submits the form, as a keyboard user would (and needs no script).
    press_to_navigate(browser, Locator::Id("zip"), Key::Enter).await;
    browser
        .wait()
        .for_element(Locator::Id("results-heading"))
        .await
        .unwrap();
}

/// Checks the page as rendered: text contrast at WCAG 2.2 AA (4.5:1, or 3:1 for large text),
/// every form field labelled, every link and button named. Returns what fails.
const ACCESSIBILITY_CHECK: &str = r#"
const problems = [];
const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => {
  const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
};
const background = el => {
  for (let e = el; e; e = e.parentElement) {
    const c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { return c.slice(0, 3); }
  }
  return [255, 255, 255];
};
for (const el of document.querySelectorAll('body *')) {
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own || !el.getClientRects().length) { continue; }
  const style = getComputedStyle(el);
  if (style.visibility === 'hidden') { continue; }
  const fg = lum(rgb(style.color)), bg = lum(background(el));
  const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
  const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
  if (ratio < need) { problems.push(`contrast ${ratio.toFixed(2)} < ${need}: ${el.tagName} "${el.textContent.trim().slice(0, 40)}"`); }
}
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) { problems.push(`unlabelled ${el.tagName} ${el.name}`); }
}
for (const el of document.querySelectorAll('a, button')) {
  if (!el.textContent.trim() && !el.getAttribute('aria-label')) { problems.push(`unnamed ${el.tagName}`); }
}
let level = 0;
for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
  const next = Number(h.tagName[1]);
  if (next > level + 1) { problems.push(`heading ${h.tagName} "${h.textContent.trim().slice(0, 40)}" after h${level}`); }
  level = next;
}
return problems;
"#;

async fn assert_accessible(browser: &Client, page: &str) {
    let problems = script(browser, ACCESSIBILITY_CHECK).await;
    assert_eq!(problems, json!([]), "{page}");
}

async fn script(browser: &Client, js: &str) -> Value {
    browser.execute(js, vec![]).await.unwrap()
}

#[tokio::test]
async fn a_demo_zip_search_shows_results_and_hotlines_with_and_without_javascript_and_leaves_no_trace()
 {
    let app = demo_app(|_| {}).await;
    let driver = Driver::start();
    for javascript in [true, false] {
        let browser = driver.browser(javascript).await;
        browser.goto(&app.url("/")).await.unwrap();
        assert_eq!(browser.title().await.unwrap(), "Resources");
        // The browser keeps no form state or suggestions; Esc is promised only where it works,
        // and "use my location", which only the script can work, shows only with it.
        assert_eq!(count(&browser, "form.search[autocomplete=off]").await, 1);
        let note = text_of(&browser, ".safety-note").await;
        assert_eq!(note.contains("Esc"), javascript, "{note}");
        if !javascript {
            let locate = browser.find(Locator::Css("#use-location")).await.unwrap();
            assert!(!locate.is_displayed().await.unwrap());
        }
        if javascript {
            assert_accessible(&browser, "lookup form").await;
            screenshot(&browser, "lookup-form").await;
        }
        search(&browser, "77002", &["shelter", "hotline"]).await;

        assert!(count(&browser, "section[aria-labelledby=results-heading] .result").await > 0);
        assert!(count(&browser, ".hotlines .result").await >= 5);
        let page = text_of(&browser, "main").await;
        assert!(
            page.contains("Confidential location: call to arrange intake."),
            "{page}"
        );
        assert!(page.contains("Demo listing (fictional)"));
        assert!(
            page.contains("National Human Trafficking Hotline"),
            "{page}"
        );
        assert!(count(&browser, "a[href^='tel:']").await > 0);
        // Hours where a service has them, beds with the age of the count.
        assert!(count(&browser, ".result .hours").await > 0);
        assert!(
            text_of(&browser, ".result .capacity")
                .await
                .contains("updated")
        );
        assert!(count(&browser, "a[href^='sms:']").await > 0);
        // Nothing about the search in the URL or the title.
        assert_eq!(browser.current_url().await.unwrap().as_str(), app.url("/"));
        assert_eq!(browser.title().await.unwrap(), "Resources");
        // No cookies, no storage, and no request to any other host.
        assert!(browser.get_all_cookies().await.unwrap().is_empty());
        if javascript {
            assert_eq!(
                script(
                    &browser,
                    "return localStorage.length + sessionStorage.length"
                )
                .await,
                json!(0)
            );
            let hosts = script(
                &browser,
                "return performance.getEntries().map(e => e.name).filter(n => n.startsWith('http'))",
            )
            .await;
            let hosts = hosts.as_array().unwrap();
            assert!(!hosts.is_empty());
            for url in hosts {
                assert!(url.as_str().unwrap().starts_with(&app.address), "{url}");
            }
            assert_accessible(&browser, "lookup results").await;
            screenshot(&browser, "lookup-results").await;
        } else {
            assert_eq!(script_disabled(&browser).await, "no script ran");
        }
        browser.close().await.unwrap();
    }
}

/// With JavaScript off, the page's script has not un-hidden the location button.
async fn script_disabled(browser: &Client) -> &'static str {
    let hidden = browser
        .find(Locator::Id("use-location"))
        .await
        .unwrap()
        .attr("hidden")
        .await
        .unwrap();
    if hidden.is_some() {
        "no script ran"
    } else {
        "script ran"
    }
}

/// Searches again from a results page, by Enter in the ZIP field, and waits for the answer
/// to replace the page's main part (answered in place, the page does not navigate).
async fn search_again(browser: &Client, zip: &str) {
    let field = browser.find(Locator::Id("zip")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(zip).await.unwrap();
    script(
        browser,
        "document.querySelector('main').dataset.stale = '1'; return null",
    )
    .await;
    press_to_navigate(browser, Locator::Id("zip"), Key::Enter).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while script(
        browser,
        "var m = document.querySelector('main'); return !!(m && m.dataset.stale);",
    )
    .await
        != json!(false)
    {
        assert!(
            Instant::now() < deadline,
            "the second search never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Quick exit (button or Esc) replaces the page in the history. Searches are answered in
/// place, so a visit of several searches is one history entry: once it is replaced, Back
/// cannot bring any results back, not even those of an earlier search.
#[tokio::test]
async fn quick_exit_and_escape_leave_and_back_does_not_return_to_any_results() {
    let app = demo_app(|_| {}).await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    for how in ["button", "escape"] {
        browser.goto(&app.url("/")).await.unwrap();
        let entries = script(&browser, "return history.length").await;
        search(&browser, "94110", &["legal_aid"]).await;
        search_again(&browser, "10001").await;
        assert_eq!(
            script(&browser, "return document.getElementById('zip').value").await,
            json!("10001")
        );
        assert_eq!(count(&browser, "#results-heading").await, 1);
        assert_eq!(
            script(&browser, "return history.length").await,
            entries,
            "{how}: a search added a history entry"
        );
        assert_eq!(browser.current_url().await.unwrap().as_str(), app.url("/"));
        if how == "button" {
            click_to_navigate(&browser, Locator::Id("quick-exit")).await;
        } else {
            press_to_navigate(&browser, Locator::Css("body"), Key::Escape).await;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = browser.current_url().await.unwrap();
            if !url.as_str().starts_with(&app.address) {
                assert_eq!(url.as_str(), NEUTRAL, "{how}");
                break;
            }
            assert!(Instant::now() < deadline, "{how} did not leave: {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        browser.back().await.unwrap();
        // Back leaves for whatever came before the visit (here the driver's blank page).
        wait_for_url(&browser, &format!("{how}: Back did not move"), |u| {
            u.as_str() != NEUTRAL
        })
        .await;
        assert_eq!(
            count(&browser, "#results-heading").await,
            0,
            "{how}: Back showed results again"
        );
        assert_eq!(count(&browser, "#zip").await, 0, "{how}: Back showed Haven");
    }
    browser.close().await.unwrap();
}

/// A double tap on "Find help" is one search: the second, carrying the same one-time key,
/// used to replace the results with "a search is shown only once" and an empty form.
#[tokio::test]
async fn a_double_tap_on_search_keeps_the_results() {
    let (_app, _driver, browser) = demo_page("/").await;
    script(
        &browser,
        "document.getElementById('zip').value = '94110';
         document.querySelector('input[name=need][value=shelter]').checked = true;
         const form = document.querySelector('form.search');
         form.requestSubmit(); form.requestSubmit(); return true;",
    )
    .await;
    wait_for(&browser, "#results-heading").await;
    // Give a second answer, were there one, time to land.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&browser, "#results-heading").await, 1);
    let text = script(&browser, "return document.querySelector('main').innerText").await;
    assert!(!text.as_str().unwrap().contains("only once"), "{text}");
    browser.close().await.unwrap();
}

/// Quick exit is the first thing the keyboard reaches, and the ZIP field is named "ZIP
/// code" with its example, as a screen reader says it.
#[tokio::test]
async fn quick_exit_is_the_first_tab_stop_and_the_zip_field_says_what_it_is() {
    let (_app, _driver, browser) = demo_page("/").await;
    let body = browser.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&char::from(Key::Tab).to_string())
        .await
        .unwrap();
    assert_eq!(
        script(&browser, "return document.activeElement.id").await,
        json!("quick-exit")
    );
    let name = script(
        &browser,
        "return document.getElementById('zip').getAttribute('aria-labelledby').split(' ')
           .map(id => document.getElementById(id).textContent).join(' ')",
    )
    .await;
    assert!(name.as_str().unwrap().starts_with("ZIP code"), "{name}");
    browser.close().await.unwrap();
}

/// A search on its way shows and says so: on a slow network a page that stays the same
/// looks broken, and a frightened person leaves or taps again.
#[tokio::test]
async fn a_search_on_its_way_says_so() {
    let (_app, _driver, browser) = demo_page("/es/").await;
    let said = script(
        &browser,
        "window.fetch = function () { return new Promise(function () {}); };
         document.getElementById('zip').value = '94110';
         document.querySelector('input[name=need][value=shelter]').checked = true;
         document.querySelector('form.search').requestSubmit();
         const button = document.querySelector('form.search button[type=submit]');
         return [button.textContent, button.getAttribute('aria-disabled'),
                 document.querySelector('.search-status[role=status]').textContent];",
    )
    .await;
    assert_eq!(said, serde_json::json!(["Buscando…", "true", "Buscando…"]));
    browser.close().await.unwrap();
}

/// Going to the other language (or home) replaces the page as a search does, and the jump
/// down to the crisis lines adds no entry, so Quick exit still leaves nothing of the visit
/// behind Back.
#[tokio::test]
async fn moving_between_the_survivor_pages_leaves_no_history_behind_quick_exit() {
    let (_app, _driver, browser) = demo_page("/").await;
    let entries = script(&browser, "return history.length").await;
    click(&browser, "a[href='#hotlines-heading']").await;
    assert_eq!(
        script(
            &browser,
            "return [history.length, document.activeElement.id, location.hash]"
        )
        .await,
        json!([entries, "hotlines-heading", ""])
    );
    click_to_navigate(&browser, Locator::Css("header a[lang='es']")).await;
    wait_for_url(&browser, "the Spanish page did not open", |u| {
        u.path() == "/es/"
    })
    .await;
    wait_for(&browser, "#zip").await;
    assert_eq!(script(&browser, "return history.length").await, entries);
    click_to_navigate(&browser, Locator::Id("quick-exit")).await;
    wait_for_url(&browser, "Quick exit did not leave", |u| {
        u.as_str() == NEUTRAL
    })
    .await;
    browser.back().await.unwrap();
    wait_for_url(&browser, "Back did not move", |u| u.as_str() != NEUTRAL).await;
    assert_eq!(count(&browser, "#zip").await, 0, "Back showed Haven");
    browser.close().await.unwrap();
}

/// A 360 px phone zoomed to 200% is a page 180 px wide: Quick exit stays whole on screen,
/// and nothing scrolls sideways.
#[tokio::test]
async fn quick_exit_stays_on_screen_at_200_percent_zoom() {
    let app = demo_app(|_| {}).await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    browser.set_window_size(180, 700).await.unwrap();
    for path in ["/", "/es/"] {
        browser.goto(&app.url(path)).await.unwrap();
        let width = script(&browser, "return window.innerWidth").await;
        assert!(
            width.as_f64().unwrap() <= 200.0,
            "the window is {width} px wide"
        );
        let fits = script(
            &browser,
            "const r = document.getElementById('quick-exit').getBoundingClientRect();
             const width = document.documentElement.clientWidth;
             return [r.left >= 0 && r.right <= width,
                     document.documentElement.scrollWidth <= width];",
        )
        .await;
        assert_eq!(fits, json!([true, true]), "{path}");
    }
    browser.close().await.unwrap();
}

/// "Use my location" before any need is ticked keeps the location and says what is left to
/// do, instead of sending a search that is refused and losing the location with the form.
#[tokio::test]
async fn use_my_location_before_choosing_a_need_keeps_the_location() {
    let (_app, _driver, browser) = demo_page("/").await;
    // The browser's answer, stood in for: a place in San Francisco.
    script(
        &browser,
        "navigator.geolocation.getCurrentPosition = ok =>
            ok({coords: {latitude: 37.761234, longitude: -122.419876}});
         return true;",
    )
    .await;
    click(&browser, "#use-location").await;
    wait_for(&browser, "#location-ready:not([hidden])").await;
    assert_eq!(count(&browser, "#results-heading").await, 0);
    assert_eq!(
        count(&browser, "p.error[role=alert]:not([hidden])").await,
        0
    );
    assert_eq!(
        script(
            &browser,
            "return document.querySelector('input[name=lat]').value"
        )
        .await,
        json!("37.76")
    );
    click(&browser, "input[name=need][value=shelter]").await;
    click(&browser, "form.search button[type=submit]").await;
    wait_for(&browser, "#results-heading").await;
    browser.close().await.unwrap();
}

#[tokio::test]
async fn the_spanish_page_searches_in_spanish() {
    let app = demo_app(|_| {}).await;
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    browser.goto(&app.url("/es/")).await.unwrap();
    assert_eq!(
        script(&browser, "return document.documentElement.lang").await,
        json!("es")
    );
    assert_eq!(browser.title().await.unwrap(), "Recursos");
    let form = text_of(&browser, "form.search").await;
    assert!(
        form.contains("Un lugar seguro para quedarse esta noche"),
        "{form}"
    );
    search(&browser, "94110", &["shelter"]).await;
    assert_eq!(
        text_of(&browser, "#results-heading").await,
        "Lugares que pueden ayudar"
    );
    assert_eq!(
        text_of(&browser, "#hotlines-heading").await,
        "Hable con alguien ahora"
    );
    assert_eq!(text_of(&browser, "#quick-exit").await, "Salida rápida");
    assert_accessible(&browser, "Spanish results").await;
    screenshot(&browser, "lookup-es").await;
    browser.close().await.unwrap();
}

/// The console search with a ZIP code and one need.
async fn console_search(browser: &Client, zip: &str, need: &str) {
    browser
        .find(Locator::Css("input[name=zip]"))
        .await
        .unwrap()
        .send_keys(zip)
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!("input[name=need][value={need}]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_to_navigate(
        browser,
        Locator::Css("form[action='/console/search'] button[type=submit]"),
    )
    .await;
}

async fn sign_in(browser: &Client, app: &TestApp, email: &str, password: &str) {
    browser.goto(&app.url("/console")).await.unwrap();
    let form = find_form(browser, "form[action='/console/sign-in']").await;
    form.set_by_name("email", email).await.unwrap();
    form.set_by_name("password", password).await.unwrap();
    submit(form).await;
}

#[tokio::test]
async fn console_sign_in_search_audited_reveal_and_a_providers_bed_update() {
    let app = demo_app(|s| s.reveal_roles = vec![Role::Caseworker]).await;
    let password = "console passphrase 42";
    create_user(&app.db, "cw@example.org", password, Role::Caseworker, None);
    // The provider runs the demo shelter "Cypress Wren Emergency Shelter".
    let (service, org): (uuid::Uuid, uuid::Uuid) = {
        use diesel::prelude::*;
        use haven::db::schema::service;
        service::table
            .filter(service::name.eq("Cypress Wren Emergency Shelter"))
            .select((service::id, service::organization_id))
            .first(&mut app.db.connect())
            .unwrap()
    };
    create_user(
        &app.db,
        "beds@example.org",
        password,
        Role::Provider,
        Some(org),
    );
    let driver = Driver::start();

    // A caseworker signs in, searches, and reveals the shelter's address with a reason.
    let browser = driver.browser(true).await;
    browser.goto(&app.url("/console")).await.unwrap();
    screenshot(&browser, "console-sign-in").await;
    sign_in(&browser, &app, "cw@example.org", password).await;
    wait_for(&browser, "form[action='/console/search']").await;
    let cookies = browser.get_all_cookies().await.unwrap();
    assert_eq!(cookies.len(), 1);
    assert_eq!(cookies[0].http_only(), Some(true));
    console_search(&browser, "77002", "shelter").await;
    let card = format!("article[data-service='{service}']");
    wait_for(&browser, &card).await;
    // The results open with focus on their heading, and the next Tab offers a way to the
    // new-search form below them (it was some 39 Tabs away).
    let focused = || async {
        browser
            .execute(
                "const a = document.activeElement; return a.id || a.getAttribute('href') || a.tagName;",
                vec![],
            )
            .await
            .unwrap()
    };
    assert_eq!(focused().await, "results");
    browser
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(Key::Tab).to_string())
        .await
        .unwrap();
    assert_eq!(focused().await, "#new-search");
    browser
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    assert_eq!(focused().await, "new-search");
    // Esc is not Quick exit in the console: staff press it mid-call to close a suggestion
    // list, and the safety note does not offer it.
    browser
        .find(Locator::Css("input[name='zip']"))
        .await
        .unwrap()
        .send_keys(&char::from(Key::Escape).to_string())
        .await
        .unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/console")
    );
    assert_eq!(count(&browser, ".esc-hint:not([hidden])").await, 0);
    wait_for(&browser, &card).await;
    assert!(
        count(
            &browser,
            &format!("{card} svg.coverage-map path, {card} svg.coverage-map circle")
        )
        .await
            > 0,
        "the coverage is drawn"
    );
    assert_accessible(&browser, "console results").await;
    screenshot(&browser, "console-results").await;
    // The referral slip: neutral title and words, the intake phone large, no name or type of
    // service, and nothing about the person it is for.
    let results = browser.window().await.unwrap();
    submit(find_form(&browser, &format!("{card} form[action='/console/slip']")).await).await;
    // It opens in a tab of its own: the results stay where they were.
    switch_to_new_tab(&browser, &results).await;
    wait_for(&browser, ".slip").await;
    assert_eq!(browser.title().await.unwrap(), "Note");
    let slip = text_of(&browser, ".slip").await;
    assert!(
        text_of(&browser, ".slip .phone").await.contains("713-555-"),
        "{slip}"
    );
    for word in ["Cypress", "Shelter", "shelter", "violence", "trafficking"] {
        assert!(!slip.contains(word), "the slip says {word}: {slip}");
    }
    // Printed, the slip is the slip alone: the bar and the safety note are for the screen.
    let printed_hidden = browser
        .execute(
            "return [...document.styleSheets].flatMap(s => [...s.cssRules])
                .filter(r => r.media && r.media.mediaText === 'print')
                .map(r => r.cssText).join(' ');",
            vec![],
        )
        .await
        .unwrap();
    let printed_hidden = printed_hidden.as_str().unwrap_or_default();
    for hidden in [".bar", ".no-print", ".safety-note"] {
        assert!(printed_hidden.contains(hidden), "{printed_hidden}");
    }
    screenshot(&browser, "console-slip").await;
    browser.close_window().await.unwrap();
    browser.switch_to_window(results.clone()).await.unwrap();
    wait_for(&browser, &card).await;
    let reveal = find_form(&browser, &format!("{card} form[action='/console/reveal']")).await;
    reveal
        .set_by_name("reason", "intake call, caller needs directions")
        .await
        .unwrap();
    submit(reveal).await;
    switch_to_new_tab(&browser, &results).await;
    wait_for(&browser, "p.address").await;
    let notice = text_of(&browser, "p.notice").await;
    assert!(notice.contains("audit log as entry"), "{notice}");
    assert_eq!(app.db.sealed_site_records(), 1);
    let res = app.admin(reqwest::Method::GET, "/api/v1/audit", None).await;
    assert_eq!(res.body["data"][0]["service_id"], service.to_string());
    assert_eq!(res.body["data"][0]["actor_role"], "caseworker");
    browser.close_window().await.unwrap();
    browser.switch_to_window(results).await.unwrap();
    wait_for(&browser, &card).await;
    browser.close().await.unwrap();

    // The provider updates beds; the next anonymous search shows the new count.
    let browser = driver.browser(true).await;
    sign_in(&browser, &app, "beds@example.org", password).await;
    let form = find_form(
        &browser,
        &format!("{card} form[action='/console/capacity']"),
    )
    .await;
    form.set_by_name("available", "3").await.unwrap();
    form.set_by_name("total", "12").await.unwrap();
    submit(form).await;
    wait_for(&browser, "p.notice").await;
    let notice = text_of(&browser, "p.notice").await;
    assert!(
        notice.contains("Beds updated") && notice.contains("UTC"),
        "{notice}"
    );
    screenshot(&browser, "console-provider").await;
    // Hours and intake phones, as the provider writes them.
    let form = find_form(
        &browser,
        &format!("{card} form[action='/console/front-door']"),
    )
    .await;
    form.set_by_name("phones", "713-555-0199, voice, 24/7\n713-555-0198, text")
        .await
        .unwrap();
    form.set_by_name("hours", "mon tue wed thu fri 08:00-20:00 America/Chicago")
        .await
        .unwrap();
    submit(form).await;
    wait_for(&browser, "p.notice").await;
    let notice = text_of(&browser, "p.notice").await;
    assert!(notice.contains("Hours and phones updated"), "{notice}");
    let res = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/services/{service}"),
            None,
        )
        .await;
    assert_eq!(res.body["schedules"][0]["opens_at"], "08:00");
    assert_eq!(res.body["phones"][1]["type"], "text");
    app.wait_for_index().await;
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/")).await.unwrap();
    search(&browser, "77002", &["shelter"]).await;
    let capacity = text_of(&browser, &format!("{card} .capacity")).await;
    assert!(capacity.starts_with("3 / 12 beds free"), "{capacity}");

    // The shelter floods: its provider closes it for now, and searches leave it out.
    sign_in(&browser, &app, "beds@example.org", password).await;
    let form = find_form(&browser, &format!("{card} form[action='/console/status']")).await;
    form.set_by_name("status", "temporarily_closed")
        .await
        .unwrap();
    submit(form).await;
    wait_for(&browser, "p.notice").await;
    let notice = text_of(&browser, "p.notice").await;
    assert!(
        notice.contains("is now temporarily closed: searches leave it out"),
        "{notice}"
    );
    let shown = text_of(&browser, &format!("{card} p.notice.closed")).await;
    assert!(shown.starts_with("Temporarily closed"), "{shown}");
    app.wait_for_index().await;
    browser.delete_all_cookies().await.unwrap();
    browser.goto(&app.url("/")).await.unwrap();
    search(&browser, "77002", &["shelter"]).await;
    assert_eq!(count(&browser, &card).await, 0);
    assert!(count(&browser, "article[data-service]").await > 0);
    browser.close().await.unwrap();
}

#[tokio::test]
async fn admins_find_create_and_edit_in_the_console_with_the_apis_validation() {
    let app = demo_app(|_| {}).await;
    let password = "admin console passphrase";
    create_user(&app.db, "admin@example.org", password, Role::Admin, None);
    let driver = Driver::start();
    let browser = driver.browser(true).await;
    sign_in(&browser, &app, "admin@example.org", password).await;

    // A new organization, then find it.
    let form = find_form(&browser, "form[action='/console/organizations']").await;
    form.set_by_name("name", "Bayou Test Legal Collective")
        .await
        .unwrap();
    submit(form).await;
    wait_for(&browser, "article[data-organization]").await;
    assert!(
        text_of(&browser, "p.notice")
            .await
            .contains("Created Bayou Test Legal Collective")
    );

    // Find a demo organization and edit one of its services: add a county by its code.
    let form = find_form(&browser, "form[action='/console/directory']").await;
    form.set_by_name("q", "cypress wren").await.unwrap();
    submit(form).await;
    wait_for(
        &browser,
        "form[action='/console/services/edit'] input[name=service_id]",
    )
    .await;
    screenshot(&browser, "console-directory").await;
    submit(find_form(&browser, "form[action='/console/services/edit']").await).await;
    wait_for(&browser, "form[action='/console/services/save']").await;
    let service: uuid::Uuid = browser
        .find(Locator::Css(
            "form[action='/console/services/save'] input[name=service_id]",
        ))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let before = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/services/{service}"),
            None,
        )
        .await;
    let coverage_before = before.body["coverage"].as_array().unwrap().len();
    let editor = find_form(&browser, "form[action='/console/services/save']").await;
    editor.set_by_name("region", "US-48201").await.unwrap();
    submit(editor).await;
    wait_for(&browser, "p.notice").await;
    assert!(text_of(&browser, "p.notice").await.starts_with("Saved at"));
    screenshot(&browser, "console-editor").await;
    let after = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/services/{service}"),
            None,
        )
        .await;
    let coverage = after.body["coverage"].as_array().unwrap();
    assert_eq!(coverage.len(), coverage_before + 1);
    assert_eq!(coverage.last().unwrap()["code"], "US-48201");
    // An unchanged bed count keeps the time it was reported.
    assert!(before.body["capacity"]["reported_at"].is_string());
    assert_eq!(
        after.body["capacity"]["reported_at"],
        before.body["capacity"]["reported_at"]
    );
    // A confidential location stays sealed through the edit.
    assert_eq!(after.body["location"], before.body["location"]);

    // A broken area is refused with the API's own words and field. This service is at a
    // sealed site, so its editor offers no area input: the area goes into the body.
    assert!(
        browser
            .find(Locator::Css("[name='geojson']"))
            .await
            .is_err()
    );
    let bowtie = json!({"type": "Polygon", "coordinates": [[[-95.0, 29.0], [-94.0, 30.0], [-94.0, 29.0], [-95.0, 30.0], [-95.0, 29.0]]]});
    let mut body = after.body.clone();
    for member in ["id", "created_at", "updated_at", "demo", "location"] {
        body.as_object_mut().unwrap().remove(member);
    }
    body["capacity"]
        .as_object_mut()
        .map(|c| c.remove("reported_at"));
    body["coverage"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "area", "geometry": bowtie}));
    let editor = find_form(&browser, "form[action='/console/services/save']").await;
    editor.set_by_name("body", &body.to_string()).await.unwrap();
    submit(editor).await;
    wait_for(&browser, "p.error").await;
    let shown = text_of(&browser, "p.error").await;
    let api = app
        .admin(
            reqwest::Method::PUT,
            &format!("/api/v1/services/{service}"),
            Some(&body),
        )
        .await;
    assert_eq!(
        api.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        api.body
    );
    let expected = format!(
        "{}: {}",
        api.body["error"]["field"].as_str().unwrap(),
        api.body["error"]["message"].as_str().unwrap()
    );
    assert_eq!(shown, expected);
    browser.close().await.unwrap();
}
