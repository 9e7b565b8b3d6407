//! The frame of every page: a neutral title, the quick-exit control, the safety note, and the
//! one stylesheet and script Haven serves itself.

use maud::{DOCTYPE, Markup, html};

use super::text::Text;

/// A whole page. `title` is always a fixed, neutral string: never what was searched.
pub fn page(t: &Text, quick_exit_url: &str, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t.html_lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                link rel="stylesheet" href="/assets/haven.css";
                script src="/assets/haven.js" defer {}
            }
            body {
                header class="bar" {
                    // Quick exit is the first thing a keyboard reaches; the style shows it last,
                    // at the right.
                    div class="bar-inner" {
                        a id="quick-exit" class="quick-exit" href=(quick_exit_url) data-to=(quick_exit_url) rel="noreferrer" { (t.quick_exit) }
                        a class="brand" href=(t.home) { "Haven" }
                        // The console has no other language (yet): no link away from it.
                        @if !t.other_lang_label.is_empty() {
                            a href=(t.other_lang_href) lang=(if t.html_lang == "en" { "es" } else { "en" }) { (t.other_lang_label) }
                        }
                    }
                }
                main {
                    p class="safety-note" { (t.safety_note) span class="esc-hint" hidden { " " (t.esc_hint) } }
                    (body)
                }
            }
        }
    }
}
