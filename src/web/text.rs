//! The words on the survivor pages, in English and Spanish: plain language for a person in
//! crisis. Need labels come from `domain::need`, which owns them for the API too.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

pub struct Text {
    pub html_lang: &'static str,
    pub home: &'static str,
    pub other_lang_href: &'static str,
    pub other_lang_label: &'static str,
    /// What history, tabs and the new-tab page show for the site: it must not say that help
    /// was sought.
    pub title: &'static str,
    pub heading: &'static str,
    pub intro: &'static str,
    pub quick_exit: &'static str,
    pub safety_note: &'static str,
    /// Shown after the safety note only where the script runs, which is what makes Esc work.
    pub esc_hint: &'static str,
    /// A search sent again (Back, then Reload) gets an empty form with this.
    pub search_shown_once: &'static str,
    pub zip: &'static str,
    pub zip_hint: &'static str,
    pub use_location: &'static str,
    pub location_error: &'static str,
    /// Said when "use my location" found one before any need was chosen.
    pub location_ready: &'static str,
    pub needs: &'static str,
    pub about_you: &'static str,
    pub optional: &'static str,
    pub age: &'static str,
    pub gender: &'static str,
    pub any: &'static str,
    pub female: &'static str,
    pub male: &'static str,
    pub nonbinary: &'static str,
    pub language: &'static str,
    pub open_now: &'static str,
    pub search: &'static str,
    /// The search button and the status line while a search is on its way.
    pub searching: &'static str,
    pub results: &'static str,
    pub hotlines: &'static str,
    pub hotlines_intro: &'static str,
    /// Beside the lines: calling and texting leave their own trace, which Haven cannot clear.
    pub call_log: &'static str,
    /// National services that are not crisis lines (an online legal clinic), after the local
    /// places: they help from anywhere, by appointment or online, not "now".
    pub national: &'static str,
    pub national_intro: &'static str,
    /// Said on every survivor page, before anything else: the emergency number.
    pub danger_now: &'static str,
    pub call_911: &'static str,
    /// Beside it, a link down to the crisis lines, which a phone's screen shows far below.
    pub to_lines: &'static str,
    /// On a place that does not say it takes young people on their own, for an asker under 18.
    pub minors_ask: &'static str,
    pub nearby: &'static str,
    pub nearby_intro: &'static str,
    /// Before the needs the nearby places are for, when other needs were found here.
    pub nearby_for: &'static str,
    pub nothing_local: &'static str,
    pub offers: &'static str,
    /// For a crisis line that offers none of the needs asked but helps with any.
    pub any_need: &'static str,
    /// A line that comes back although it does not list the language asked for.
    pub ask_interpreter: &'static str,
    /// A line that comes back although "open now" was asked and it is not.
    pub not_open_now: &'static str,
    /// A line that comes back although it does not list the age given.
    pub other_ages: &'static str,
    /// A line that comes back although it does not list the gender given.
    pub other_genders: &'static str,
    /// A line that comes back although it does not list everything required.
    pub lacks_requirement: &'static str,
    pub open: &'static str,
    pub closed: &'static str,
    pub confidential: &'static str,
    pub call: &'static str,
    /// On a text line's button, before its number.
    pub text_to: &'static str,
    /// On the button of a text line that asks for a word first, around the word: "Text
    /// START to 88788".
    pub text_word: [&'static str; 2],
    /// The tag of a place that takes text messages.
    pub text: &'static str,
    pub all_day: &'static str,
    pub speaks: &'static str,
    pub beds: &'static str,
    /// Said instead of the count when no bed is free.
    pub full: &'static str,
    pub updated: &'static str,
    pub may_be_old: &'static str,
    pub demo: &'static str,
    pub away: &'static str,
    pub new_search: &'static str,
    pub problem: &'static str,
    /// While the index loads after a restart (some seconds), searches cannot be answered.
    pub starting: &'static str,
    /// Over the anonymous rate limit (shared by everyone behind one address, as in a shelter).
    pub throttled: &'static str,
    /// A search that was not a form, or far too large: never sent by the page itself.
    pub unreadable: &'static str,
    /// An address with no page behind it.
    pub no_such_page: &'static str,
}

pub const EN: Text = Text {
    html_lang: "en",
    home: "/",
    other_lang_href: "/es/",
    other_lang_label: "Español",
    title: "Resources",
    heading: "Find help near you",
    intro: "Free and confidential. You do not need to give your name.",
    quick_exit: "Quick exit",
    safety_note: "Safety: this site saves nothing, but your browser may keep a history. Use a private window or a safer device if you can. Tap Quick exit to leave at once.",
    esc_hint: "On a keyboard, Esc does the same.",
    search_shown_once: "For your safety, a search is shown only once. Search again below.",
    zip: "ZIP code",
    zip_hint: "5 digits, e.g. 94110",
    use_location: "Use my location (approximate)",
    location_error: "Your location is not available. Enter a ZIP code instead.",
    location_ready: "Your approximate location is set. Now choose what you need, then tap \u{201c}Find help\u{201d}.",
    needs: "What do you need?",
    about_you: "About you",
    optional: "optional: helps find places that accept you",
    age: "Age",
    gender: "Gender",
    any: "Prefer not to say",
    female: "Female",
    male: "Male",
    nonbinary: "Nonbinary",
    language: "Language you speak",
    open_now: "Only places open now",
    search: "Find help",
    searching: "Searching…",
    results: "Places that can help",
    hotlines: "Talk to someone now",
    hotlines_intro: "Free, confidential lines you can call or text:",
    call_log: "Calls and texts show in the phone's call log and messages. If someone checks your phone, delete them afterwards, or use a phone they cannot see.",
    national: "Help from anywhere in the country",
    national_intro: "These services help people wherever they are, by phone or online. Call or write to ask:",
    danger_now: "In danger right now?",
    call_911: "Call 911",
    to_lines: "Lines to call or text",
    minors_ask: "Under 18 and on your own? This place does not say it takes young people without a parent or guardian: call and ask first.",
    nearby: "Just outside your area",
    nearby_intro: "These places are close but may not serve where you are. Call and ask:",
    nearby_for: "No place near you that serves where you are offers this:",
    nothing_local: "We did not find a local place for this search. You are not out of options: the lines below can help right now.",
    offers: "Offers",
    any_need: "A crisis line: someone to talk it through with, who can point you to more help",
    ask_interpreter: "May not speak the language you chose: ask for an interpreter.",
    not_open_now: "Not open now.",
    other_ages: "May not list your age: call and ask.",
    other_genders: "May not list your gender: call and ask.",
    lacks_requirement: "May not offer everything you asked for: call and ask.",
    open: "Open now",
    closed: "Closed now",
    confidential: "Confidential location: call to arrange intake.",
    call: "Call",
    text_to: "Text",
    text_word: ["Text", "to"],
    text: "Text",
    all_day: "24/7",
    speaks: "Languages",
    beds: "beds free",
    full: "Full right now",
    updated: "updated",
    may_be_old: "may be out of date",
    demo: "Demo listing (fictional)",
    away: "away",
    new_search: "New search",
    problem: "Please check this:",
    starting: "This site is starting up and cannot search yet. Please try again in a few seconds. If you are in danger now, call 911.",
    throttled: "Too many searches have come from this connection just now. Please wait a moment and try again. If you are in danger now, call 911.",
    unreadable: "Your search could not be read. Please fill in the form below and search again. If you are in danger now, call 911.",
    no_such_page: "There is no page at this address. You can search for help below. If you are in danger now, call 911.",
};

/// The console's frame: the English pages' words, but a note for staff, who are signed in
/// (a session cookie) and whose searches are not kept, and a brand that leads to the console.
pub const CONSOLE: Text = Text {
    home: "/console",
    other_lang_href: "",
    other_lang_label: "",
    safety_note: "Searches here are not kept, but the browser may keep a history: sign out when you leave, and use Quick exit to leave at once.",
    // Said to the person helping, who passes it on.
    call_log: "Calls and texts show in the phone's call log and messages: someone whose phone may be checked can delete them afterwards, or use a phone the other person cannot see.",
    hotlines: "Crisis lines",
    hotlines_intro: "National lines to call or text, for the caller or a warm transfer:",
    minors_ask: "Does not say it takes under-18s without a parent or guardian: ask before sending someone under 18 on their own.",
    ..EN
};

pub const ES: Text = Text {
    html_lang: "es",
    home: "/es/",
    other_lang_href: "/",
    other_lang_label: "English",
    title: "Recursos",
    heading: "Encuentre ayuda cerca de usted",
    intro: "Gratis y confidencial. No necesita dar su nombre.",
    quick_exit: "Salida rápida",
    safety_note: "Seguridad: este sitio no guarda nada, pero su navegador puede guardar el historial. Si puede, use una ventana privada o un dispositivo más seguro. Toque Salida rápida para salir de inmediato.",
    esc_hint: "Con un teclado, Esc hace lo mismo.",
    search_shown_once: "Por su seguridad, cada búsqueda se muestra una sola vez. Busque de nuevo abajo.",
    zip: "Código postal (ZIP)",
    zip_hint: "5 dígitos, por ejemplo 94110",
    use_location: "Usar mi ubicación (aproximada)",
    location_error: "Su ubicación no está disponible. Escriba un código postal.",
    location_ready: "Su ubicación aproximada está lista. Ahora elija lo que necesita y toque \u{ab}Buscar ayuda\u{bb}.",
    needs: "¿Qué necesita?",
    about_you: "Sobre usted",
    optional: "opcional: ayuda a encontrar lugares que le acepten",
    age: "Edad",
    gender: "Género",
    any: "Prefiero no decirlo",
    female: "Mujer",
    male: "Hombre",
    nonbinary: "No binario",
    language: "Idioma que habla",
    open_now: "Solo lugares abiertos ahora",
    search: "Buscar ayuda",
    searching: "Buscando…",
    results: "Lugares que pueden ayudar",
    hotlines: "Hable con alguien ahora",
    hotlines_intro: "Líneas gratuitas y confidenciales para llamar o enviar mensajes:",
    call_log: "Las llamadas y los mensajes quedan en el registro de llamadas y en los mensajes del teléfono. Si alguien revisa su teléfono, bórrelos después o use un teléfono que no pueda ver.",
    national: "Ayuda desde cualquier lugar del país",
    national_intro: "Estos servicios ayudan a las personas dondequiera que estén, por teléfono o en línea. Llame o escriba para preguntar:",
    danger_now: "¿Está en peligro ahora?",
    call_911: "Llame al 911",
    to_lines: "Líneas para llamar o escribir",
    minors_ask: "¿Tiene menos de 18 años y está solo o sola? Este lugar no dice que acepte a menores sin su madre, padre o tutor: llame y pregunte primero.",
    nearby: "Justo fuera de su zona",
    nearby_intro: "Estos lugares están cerca, pero puede que no atiendan su zona. Llame y pregunte:",
    nearby_for: "Ningún lugar cercano que atienda su zona ofrece esto:",
    nothing_local: "No encontramos un lugar local para esta búsqueda. Todavía hay opciones: las líneas de abajo pueden ayudar ahora mismo.",
    offers: "Ofrece",
    any_need: "Una línea de crisis: alguien con quien hablarlo, que le puede orientar hacia más ayuda",
    ask_interpreter: "Puede que no hable el idioma que eligió: pida un intérprete.",
    not_open_now: "No está abierto ahora.",
    other_ages: "Puede que no atienda su edad: llame y pregunte.",
    other_genders: "Puede que no atienda su género: llame y pregunte.",
    lacks_requirement: "Puede que no ofrezca todo lo que pidió: llame y pregunte.",
    open: "Abierto ahora",
    closed: "Cerrado ahora",
    confidential: "Ubicación confidencial: llame para coordinar la admisión.",
    call: "Llamar al",
    text_to: "Enviar mensaje al",
    text_word: ["Enviar", "al"],
    text: "Mensajes de texto",
    all_day: "24/7",
    speaks: "Idiomas",
    beds: "camas libres",
    full: "Sin camas libres ahora",
    updated: "actualizado",
    may_be_old: "puede no estar al día",
    demo: "Ficha de demostración (ficticia)",
    away: "de distancia",
    new_search: "Nueva búsqueda",
    problem: "Revise esto:",
    starting: "Este sitio se está iniciando y todavía no puede buscar. Inténtelo de nuevo en unos segundos. Si está en peligro ahora, llame al 911.",
    throttled: "Han llegado demasiadas búsquedas desde esta conexión en poco tiempo. Espere un momento e inténtelo de nuevo. Si está en peligro ahora, llame al 911.",
    unreadable: "No pudimos leer su búsqueda. Llene el formulario de abajo y busque de nuevo. Si está en peligro ahora, llame al 911.",
    no_such_page: "No hay ninguna página en esta dirección. Puede buscar ayuda abajo. Si está en peligro ahora, llame al 911.",
};

impl Lang {
    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::Es => &ES,
        }
    }
}

/// Languages offered in the survivor form: the most common in US directories.
pub const FORM_LANGUAGES: [(&str, &str, &str); 8] = [
    ("en", "English", "Inglés"),
    ("es", "Spanish / Español", "Español"),
    ("zh", "Chinese / 中文", "Chino / 中文"),
    ("vi", "Vietnamese / Tiếng Việt", "Vietnamita / Tiếng Việt"),
    ("tl", "Tagalog", "Tagalo"),
    ("ko", "Korean / 한국어", "Coreano / 한국어"),
    ("ar", "Arabic / العربية", "Árabe / العربية"),
    ("ru", "Russian / Русский", "Ruso / Русский"),
];

/// Other languages directories list, named on results (codes alone mean little to people).
const MORE_LANGUAGES: [(&str, &str, &str); 12] = [
    ("fr", "French / Français", "Francés / Français"),
    ("ht", "Haitian Creole / Kreyòl", "Criollo haitiano / Kreyòl"),
    ("pt", "Portuguese / Português", "Portugués / Português"),
    ("hi", "Hindi / हिन्दी", "Hindi / हिन्दी"),
    ("ur", "Urdu / اردو", "Urdu / اردو"),
    ("bn", "Bengali / বাংলা", "Bengalí / বাংলা"),
    ("fa", "Persian / فارسی", "Persa / فارسی"),
    ("so", "Somali / Soomaali", "Somalí / Soomaali"),
    ("am", "Amharic / አማርኛ", "Amárico / አማርኛ"),
    ("uk", "Ukrainian / Українська", "Ucraniano / Українська"),
    ("pl", "Polish / Polski", "Polaco / Polski"),
    ("ja", "Japanese / 日本語", "Japonés / 日本語"),
];

/// A language's name for the page's language; the code itself when Haven has no name for it.
/// The code of a language typed by its name, in English or its own ("Spanish", "español",
/// "haitian creole"), among those Haven names.
pub fn language_code(typed: &str) -> Option<&'static str> {
    /// Other names people type for them, and names typed without their accents.
    const ALSO: [(&str, &str); 10] = [
        ("mandarin", "zh"),
        ("cantonese", "zh"),
        ("farsi", "fa"),
        ("filipino", "tl"),
        ("haitian", "ht"),
        ("creole", "ht"),
        ("espanol", "es"),
        ("francais", "fr"),
        ("portugues", "pt"),
        ("kreyol", "ht"),
    ];
    let typed = typed.trim().to_lowercase();
    if let Some((_, code)) = ALSO.iter().find(|(name, _)| *name == typed) {
        return Some(code);
    }
    FORM_LANGUAGES
        .iter()
        .chain(MORE_LANGUAGES.iter())
        .find(|(_, en, es)| {
            en.split(" / ")
                .chain(es.split(" / "))
                .any(|name| name.to_lowercase() == typed)
        })
        .map(|(code, _, _)| *code)
}

pub fn language_name(code: &str, lang: Lang) -> &str {
    FORM_LANGUAGES
        .iter()
        .chain(MORE_LANGUAGES.iter())
        .find(|(c, _, _)| *c == code)
        .map_or(code, |(_, en, es)| if lang == Lang::Es { es } else { en })
}
