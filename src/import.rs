//! Bulk import of services from JSON Lines: one service per line, in the shape of
//! `POST /api/v1/services`, its organization given by `organization_id` or by
//! `organization_name` (created when no organization has that name). Every line is parsed and
//! validated; lines are written in batches, each all-or-nothing: a batch with any bad line is
//! not written, and every bad line is reported with its number, field and reason.
//!
//! A line may carry the service's own `id` (a UUID, as HSDS records do): a stored service with
//! that id is replaced, as `PUT` replaces it (keeping a confidential location the line leaves
//! out), and otherwise one is created with it. That makes
//! a file safe to import again (after fixing the lines of a rejected batch, or for a newer
//! export of the same directory); lines without an id are new services each time.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::boundaries::Boundaries;
use crate::crypto::{DataKeys, LiveKeys};
use crate::db::change_log::{self, Action, Entity};
use crate::db::organizations;
use crate::db::schema::organization;
use crate::db::services::{self, LocationRow, ServiceWrite};
use crate::domain::coordinates::Coordinates;
use crate::domain::coverage::from_value;
use crate::domain::organization::{NewOrganization, OrganizationInput};
use crate::domain::service::{
    FrontDoor, NewService, ServiceInput, has_front_door, keeps_site_hidden,
    set_aside_what_a_read_adds, stays_with_its_staff,
};
use crate::domain::{FieldError, without_value};
use crate::json::{NUL_MESSAGE, nul_in, repeated_member};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub lines: usize,
    /// Services written: created and replaced.
    pub imported: usize,
    /// Of those, stored services replaced by a line with their id.
    pub replaced: usize,
    /// Services created from lines without an id (another run of the file creates them again).
    pub without_id: usize,
    pub organizations_created: usize,
    pub batches_written: usize,
    pub batches_rejected: usize,
    pub errors: Vec<LineError>,
    /// Why the run stopped before the end (Postgres lost, the input unreadable); the batches
    /// written before stay written.
    pub stopped: Option<String>,
}

/// Who a line's service belongs to.
enum Owner {
    Existing(Uuid, bool),
    /// An organization to create with the batch, as the line named it.
    New(NewOrganization),
}

/// How organization names are matched: letter case and runs of spaces aside, so that
/// "Case  Shelter" and "case shelter" in one file are one organization, as people mean.
fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The organization a line names, checked as `POST /api/v1/organizations` checks a name.
fn new_organization(name: &str) -> Result<NewOrganization, FieldError> {
    NewOrganization::parse(
        OrganizationInput {
            name: name.to_string(),
            description: None,
            website: None,
            email: None,
        },
        false,
    )
    .map_err(|e| FieldError {
        field: "organization_name".into(),
        ..e
    })
}

struct ParsedLine {
    /// Its number in the file.
    line: usize,
    /// The service's own id, when the line gives one.
    id: Option<Uuid>,
    owner: Owner,
    service: NewService,
    /// The front door of a confidential location the line gave as read, standing for the
    /// stored one.
    front_door: Option<FrontDoor>,
}

/// The `id` a line gives its service, if any.
fn service_id(given: Option<Value>) -> Result<Option<Uuid>, FieldError> {
    let Some(given) = given else {
        return Ok(None);
    };
    let id = given
        .as_str()
        .and_then(|text| Uuid::parse_str(text).ok())
        .filter(|id| !id.is_nil())
        .ok_or_else(|| {
            FieldError::invalid(
                "id",
                "must be a UUID such as \"5f0c8a9e-3b1d-4c2e-9f7a-2d6b8e1c4a37\", or left out",
            )
        })?;
    Ok(Some(id))
}

pub struct Importer<'a> {
    /// The data keys, looked at again before each batch (`haven keys rotate` may run during
    /// a long import, and `retire` after it): a batch is sealed only with a key the file
    /// holds.
    live: LiveKeys,
    /// Every key in use: a sealed site a line keeps is opened to check the line against it.
    keys: std::sync::Arc<DataKeys>,
    boundaries: &'a Boundaries,
    /// Organization id -> demo flag.
    by_id: HashMap<Uuid, bool>,
    /// Organization name -> id (None when several share the name).
    by_name: HashMap<String, Option<Uuid>>,
    /// Service ids lines have given so far, with the number of the line that gave each.
    ids_given: HashMap<Uuid, usize>,
}

impl<'a> Importer<'a> {
    pub fn new(
        conn: &mut PgConnection,
        live: &LiveKeys,
        boundaries: &'a Boundaries,
    ) -> QueryResult<Self> {
        let rows: Vec<(Uuid, String, bool)> = organization::table
            .select((organization::id, organization::name, organization::demo))
            .load(conn)?;
        let mut by_name: HashMap<String, Option<Uuid>> = HashMap::new();
        for (id, name, _) in &rows {
            by_name
                .entry(name_key(name))
                .and_modify(|v| *v = None)
                .or_insert(Some(*id));
        }
        Ok(Importer {
            live: live.clone(),
            keys: live.get(),
            boundaries,
            by_id: rows.into_iter().map(|(id, _, demo)| (id, demo)).collect(),
            by_name,
            ids_given: HashMap::new(),
        })
    }

    fn parse_line(&self, text: &str, line: usize) -> Result<ParsedLine, FieldError> {
        if let Some(field) = nul_in(text.as_bytes()) {
            return Err(FieldError::invalid(field, NUL_MESSAGE));
        }
        if let Some(field) = repeated_member(text.as_bytes()) {
            return Err(FieldError::invalid(field, "is given twice"));
        }
        // serde_json counts lines within the text, which is one line of the file: only the
        // column says anything.
        let mut value: Value = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string().replace(" at line 1 column ", " at column ");
            FieldError::new("malformed_json", "", message)
        })?;
        let Value::Object(object) = &mut value else {
            return Err(FieldError::invalid("", "each line must be a JSON object"));
        };
        let id = service_id(object.remove("id"))?;
        let owner = match (
            object.remove("organization_name"),
            object.get("organization_id"),
        ) {
            (Some(_), Some(_)) => {
                return Err(FieldError::invalid(
                    "organization_name",
                    "give organization_id or organization_name, not both",
                ));
            }
            (Some(Value::String(name)), None) => {
                let new = new_organization(&name)?;
                let owner = match self.by_name.get(&name_key(&new.name)) {
                    Some(Some(id)) => {
                        Owner::Existing(*id, self.by_id.get(id).copied().unwrap_or(false))
                    }
                    Some(None) => {
                        return Err(FieldError::invalid(
                            "organization_name",
                            "several organizations have this name; use organization_id",
                        ));
                    }
                    None => Owner::New(new),
                };
                // Stands in until the organization exists; replaced when the batch is written.
                object.insert(
                    "organization_id".into(),
                    Value::String(Uuid::nil().to_string()),
                );
                owner
            }
            (Some(_), None) => {
                return Err(FieldError::invalid("organization_name", "must be a string"));
            }
            (None, _) => Owner::Existing(Uuid::nil(), false),
        };
        // A line with an id may be the service as read (an export made of GET answers).
        let front_door = match id {
            Some(_) => set_aside_what_a_read_adds(&mut value)?,
            None => None,
        };
        let input: ServiceInput = from_value(value, "")?;
        let owner = match owner {
            Owner::Existing(id, _) if id.is_nil() => {
                let demo = self
                    .by_id
                    .get(&input.organization_id)
                    .copied()
                    .ok_or_else(|| {
                        FieldError::new(
                            "unknown_organization",
                            "organization_id",
                            "no organization has this id",
                        )
                    })?;
                Owner::Existing(input.organization_id, demo)
            }
            other => other,
        };
        let service = NewService::parse(input, self.boundaries, Utc::now())?;
        Ok(ParsedLine {
            line,
            id,
            owner,
            service,
            front_door,
        })
    }

    /// Writes one batch in one transaction, creating the organizations it names.
    fn write_batch(
        &mut self,
        conn: &mut PgConnection,
        batch: Vec<ParsedLine>,
        report: &mut ImportReport,
    ) -> Result<(), BatchError> {
        // Name key -> id of the organizations this batch creates.
        let mut created: Vec<(String, Uuid)> = Vec::new();
        let count = batch.len();
        let without_id = batch.iter().filter(|line| line.id.is_none()).count();
        let mut replaced: Vec<Uuid> = Vec::new();
        // A batch that seals an address seals it with a key the file holds.
        let seals = batch.iter().any(|line| line.service.seals());
        self.keys = services::keys_to_write(&self.live, conn, seals).map_err(BatchError::Keys)?;
        conn.transaction(|conn| {
            let mut services = Vec::with_capacity(batch.len());
            for mut line in batch {
                let (id, demo) = match &line.owner {
                    Owner::Existing(id, demo) => (*id, *demo),
                    Owner::New(org) => {
                        let key = name_key(&org.name);
                        match created.iter().find(|(k, _)| *k == key) {
                            Some((_, id)) => (*id, false),
                            None => {
                                let id = Uuid::new_v4();
                                organizations::insert_unlogged(conn, id, org)?;
                                created.push((key, id));
                                (id, false)
                            }
                        }
                    }
                };
                line.service.organization_id = id;
                services.push((line.line, line.id, line.service, demo, line.front_door));
            }
            let writes: Vec<(usize, bool, ServiceWrite<'_>)> = services
                .iter()
                .map(|(line, given, service, demo, _)| {
                    let id = given.unwrap_or_else(Uuid::new_v4);
                    let write = ServiceWrite {
                        id,
                        service,
                        demo: *demo,
                    };
                    (*line, given.is_some(), write)
                })
                .collect();
            // A line's id replaces the stored service with it; the other lines, and ids not
            // stored (new, or deleted meanwhile), are created.
            let with_id: Vec<Replacement<'_>> = writes
                .iter()
                .zip(&services)
                .filter(|((_, given, _), _)| *given)
                .map(|((line, _, write), (.., front_door))| Replacement {
                    line: *line,
                    write: *write,
                    front_door: front_door.as_ref(),
                })
                .collect();
            let kept = self.sealed_sites_kept(conn, &with_id)?;
            let with_id: Vec<ServiceWrite<'_>> = with_id.into_iter().map(|r| r.write).collect();
            let key = self.keys.current();
            replaced = services::replace_many_unlogged(conn, &with_id, key, self.boundaries)?;
            services::restore_locations(conn, &kept)?;
            let done: HashSet<Uuid> = replaced.iter().copied().collect();
            let new: Vec<ServiceWrite<'_>> = writes
                .into_iter()
                .map(|(_, _, write)| write)
                .filter(|write| !done.contains(&write.id))
                .collect();
            services::insert_many(conn, &new, key, self.boundaries)?;
            // Logged last: logging takes the directory-wide write lock until commit, and
            // taken with the first organization or replacement it would stop every other
            // write for the whole batch.
            if !replaced.is_empty() {
                change_log::record_many(conn, Entity::Service, &replaced, Action::Upsert)?;
            }
            let ids: Vec<Uuid> = created.iter().map(|(_, id)| *id).collect();
            if !ids.is_empty() {
                change_log::record_many(conn, Entity::Organization, &ids, Action::Upsert)?;
            }
            Ok::<(), BatchError>(())
        })?;
        report.organizations_created += created.len();
        for (key, id) in created {
            self.by_id.insert(id, false);
            self.by_name.insert(key, Some(id));
        }
        report.imported += count;
        report.replaced += replaced.len();
        report.without_id += without_id;
        report.batches_written += 1;
        Ok(())
    }

    /// The sealed sites that lines replacing their service by id without a `location` keep,
    /// with their services locked. `PUT` keeps them too: no read shows a sealed address, so
    /// no export carries one, and a file imported again would otherwise delete every
    /// shelter's front door. Each line is checked against its site as `PUT` checks it, but
    /// by the site itself: whoever runs an import holds the key that opens it.
    fn sealed_sites_kept(
        &self,
        conn: &mut PgConnection,
        lines: &[Replacement<'_>],
    ) -> Result<Vec<LocationRow>, BatchError> {
        let without_location: HashMap<Uuid, &Replacement<'_>> = lines
            .iter()
            .filter(|r| r.write.service.location.is_none())
            .map(|r| (r.write.id, r))
            .collect();
        if without_location.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = without_location.keys().copied().collect();
        let mut rows = Vec::new();
        let mut sealed = HashSet::new();
        for (organization, row) in services::lock_confidential_locations(conn, &ids)? {
            let r = without_location[&row.service_id];
            let stored = FrontDoor::of(&row);
            let checked = r
                .front_door
                .map_or(Ok(()), |sent| sent.is_unchanged(&stored))
                .and_then(|()| keeps_sealed_site(r.write.service, organization, &row, &self.keys));
            checked.map_err(|e| {
                BatchError::Line(LineError {
                    line: r.line,
                    field: e.field,
                    message: format!(
                        "{} (this line gives no location, or one as read, so the service keeps its stored one, which is confidential)",
                        without_value(&e.message)
                    ),
                })
            })?;
            sealed.insert(row.service_id);
            rows.push(row);
        }
        // A location as read stands for a sealed one stored: without one it means nothing.
        if let Some(r) = lines
            .iter()
            .find(|r| r.front_door.is_some() && !sealed.contains(&r.write.id))
        {
            return Err(BatchError::Line(LineError {
                line: r.line,
                field: "location.lat".into(),
                message: "is required: a location without coordinates stands only for a confidential one already stored, which this service does not have".into(),
            }));
        }
        Ok(rows)
    }

    /// Reads every line of `reader`; `progress` is told how many bytes were read so far. A
    /// batch Postgres refuses (an organization deleted meanwhile, another run writing the
    /// same ids) is reported as its lines and the run goes on; one it cannot write at all
    /// stops the run, which says so in the report.
    pub fn run(
        &mut self,
        conn: &mut PgConnection,
        reader: impl BufRead,
        batch_size: usize,
        progress: impl Fn(u64),
    ) -> ImportReport {
        let mut report = ImportReport::default();
        if let Err(e) = self.read_all(conn, reader, batch_size, progress, &mut report) {
            report.stopped = Some(format!("{e:#}"));
        }
        report
    }

    fn read_all(
        &mut self,
        conn: &mut PgConnection,
        reader: impl BufRead,
        batch_size: usize,
        progress: impl Fn(u64),
        report: &mut ImportReport,
    ) -> anyhow::Result<()> {
        let mut batch = Batch {
            lines: Vec::with_capacity(batch_size),
            failed: false,
            first_line: 0,
            last_line: 0,
        };
        let mut bytes = 0u64;
        let mut reader = reader;
        let mut buffer = Vec::new();
        for i in 0.. {
            let Some((read, line)) = next_line(&mut reader, &mut buffer, i == 0)? else {
                break;
            };
            bytes += read;
            let parsed = match line {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => match self.parse_line(line, i + 1) {
                    Ok(parsed) => self.first_with_its_id(parsed, i + 1),
                    Err(e) => {
                        self.note_id_of_bad_line(line, i + 1);
                        Err(e)
                    }
                },
                Err(problem) => Err(FieldError::invalid("", problem)),
            };
            report.lines += 1;
            if batch.first_line == 0 {
                batch.first_line = i + 1;
            }
            batch.last_line = i + 1;
            match parsed {
                Ok(parsed) if !batch.failed => batch.lines.push(parsed),
                Ok(_) => {}
                Err(e) => {
                    report.errors.push(LineError {
                        line: i + 1,
                        field: e.field,
                        message: without_value(&e.message),
                    });
                    batch.failed = true;
                    batch.lines.clear();
                }
            }
            if report.lines.is_multiple_of(batch_size) {
                self.finish_batch(conn, &mut batch, report)?;
                progress(bytes);
            }
        }
        self.finish_batch(conn, &mut batch, report)?;
        progress(bytes);
        Ok(())
    }

    /// Keeps the id a bad line gives, when it can be read: a later line giving it too is as
    /// ambiguous as if this one had been good.
    fn note_id_of_bad_line(&mut self, text: &str, line: usize) {
        let id = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|mut value| value.get_mut("id").map(Value::take))
            .and_then(|id| service_id(Some(id)).ok().flatten());
        if let Some(id) = id {
            self.ids_given.entry(id).or_insert(line);
        }
    }

    /// Refuses a line that gives the id an earlier line gave: which of the two is meant
    /// cannot be told.
    fn first_with_its_id(
        &mut self,
        parsed: ParsedLine,
        line: usize,
    ) -> Result<ParsedLine, FieldError> {
        let Some(id) = parsed.id else {
            return Ok(parsed);
        };
        match self.ids_given.insert(id, line) {
            None => Ok(parsed),
            Some(first) => {
                self.ids_given.insert(id, first);
                Err(FieldError::invalid(
                    "id",
                    format!("line {first} gives this id too; give each service once"),
                ))
            }
        }
    }

    fn finish_batch(
        &mut self,
        conn: &mut PgConnection,
        batch: &mut Batch,
        report: &mut ImportReport,
    ) -> anyhow::Result<()> {
        if batch.failed {
            report.batches_rejected += 1;
        } else if !batch.lines.is_empty() {
            match self.write_batch(conn, std::mem::take(&mut batch.lines), report) {
                Ok(()) => {}
                Err(BatchError::Line(error)) => {
                    report.batches_rejected += 1;
                    report.errors.push(error);
                }
                // Refused as a whole (its transaction rolled back), unless the connection
                // went with it (Postgres stopping ends sessions with an error too).
                Err(BatchError::Database(diesel::result::Error::DatabaseError(_, info))) => {
                    if diesel::sql_query("SELECT 1").execute(conn).is_err() {
                        anyhow::bail!("{}", info.message());
                    }
                    report.batches_rejected += 1;
                    report.errors.push(LineError {
                        line: batch.first_line,
                        field: String::new(),
                        message: format!(
                            "lines {} to {} were not written: {}",
                            batch.first_line,
                            batch.last_line,
                            info.message()
                        ),
                    });
                }
                Err(BatchError::Database(e)) => return Err(e.into()),
                Err(BatchError::Keys(why)) => anyhow::bail!(
                    "{why}; lines {} to {} were not written",
                    batch.first_line,
                    batch.last_line
                ),
            }
        }
        batch.lines.clear();
        batch.failed = false;
        batch.first_line = 0;
        Ok(())
    }
}

/// A line replacing the stored service with its id.
struct Replacement<'a> {
    line: usize,
    write: ServiceWrite<'a>,
    /// The front door of a confidential location the line gave as read.
    front_door: Option<&'a FrontDoor>,
}

/// Why a batch was not written.
enum BatchError {
    /// A line breaks a rule that only what is stored shows (the sealed site it keeps).
    Line(LineError),
    Database(diesel::result::Error),
    /// The key file changed and could not be taken: nothing more is sealed (why, in words).
    Keys(String),
}

impl From<diesel::result::Error> for BatchError {
    fn from(e: diesel::result::Error) -> Self {
        BatchError::Database(e)
    }
}

/// Checks a line that keeps a sealed site against it: the same organization (`stored`), an
/// intake phone, and no radius or area coverage drawn around the site.
fn keeps_sealed_site(
    service: &NewService,
    stored: Uuid,
    row: &LocationRow,
    keys: &DataKeys,
) -> Result<(), FieldError> {
    stays_with_its_staff(stored, service.organization_id)?;
    has_front_door(&service.phones)?;
    let cannot_open = || {
        FieldError::invalid(
            "location",
            "the stored confidential location cannot be opened with the data keys given",
        )
    };
    let site = services::open_location(row, keys).map_err(|_| cannot_open())?;
    let site = Coordinates::new(site.lat, site.lon).map_err(|_| cannot_open())?;
    keeps_site_hidden(&service.coverage, site)
}

/// The lines of the batch being read, and whether any of them was bad.
struct Batch {
    lines: Vec<ParsedLine>,
    failed: bool,
    /// Its first and last line numbers (0: none yet).
    first_line: usize,
    last_line: usize,
}

/// The longest line taken: the largest body `POST /api/v1/services` takes.
const MAX_LINE: usize = crate::json::GEOMETRY_LIMIT;

/// Reads the next line into `buffer`: how many bytes it took from `reader`, and the line's
/// text without its line ending (and, on the first line, a byte-order mark), or what is wrong
/// with it (not UTF-8, longer than [`MAX_LINE`], whose rest is skipped unread into memory).
/// None at the end.
fn next_line<'b>(
    reader: &mut impl BufRead,
    buffer: &'b mut Vec<u8>,
    first: bool,
) -> std::io::Result<Option<(u64, Result<&'b str, String>)>> {
    use std::io::Read;
    const BOM: &[u8] = "\u{feff}".as_bytes();
    buffer.clear();
    // Room for the longest line, its ending (CRLF from a spreadsheet) and, on the first line,
    // a byte-order mark: none of them count against the limit.
    let room = MAX_LINE + 2 + if first { BOM.len() } else { 0 };
    let mut read = reader
        .by_ref()
        .take(room as u64)
        .read_until(b'\n', buffer)? as u64;
    if read == 0 {
        return Ok(None);
    }
    let cut = buffer.last() != Some(&b'\n') && buffer.len() >= room;
    if cut {
        let mut rest = Vec::new();
        loop {
            rest.clear();
            let more = reader.by_ref().take(1 << 20).read_until(b'\n', &mut rest)?;
            read += more as u64;
            if more == 0 || rest.last() == Some(&b'\n') {
                break;
            }
        }
    }
    let mut text: &[u8] = buffer;
    text = text.strip_suffix(b"\n").unwrap_or(text);
    text = text.strip_suffix(b"\r").unwrap_or(text);
    if first {
        text = text.strip_prefix(BOM).unwrap_or(text);
    }
    if cut || text.len() > MAX_LINE {
        let limit = MAX_LINE / (1024 * 1024);
        return Ok(Some((
            read,
            Err(format!("the line is longer than {limit} MiB")),
        )));
    }
    Ok(Some((
        read,
        std::str::from_utf8(text).map_err(|e| {
            format!(
                "the line is not UTF-8 text (byte {} is not)",
                e.valid_up_to() + 1
            )
        }),
    )))
}

#[cfg(test)]
mod tests {
    use super::{MAX_LINE, next_line};

    /// Reads every line of `file` as `import` does: each line's text, or what is wrong.
    fn lines(file: &[u8]) -> Vec<Result<usize, String>> {
        let mut reader = std::io::BufReader::new(file);
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        while let Some((_, line)) = next_line(&mut reader, &mut buffer, out.is_empty()).unwrap() {
            out.push(line.map(str::len));
        }
        out
    }

    #[test]
    fn the_longest_line_is_taken_whatever_its_ending_and_a_longer_one_is_skipped() {
        let longest = vec![b' '; MAX_LINE];
        let too_long = vec![b' '; MAX_LINE + 1];
        let bom = "\u{feff}".as_bytes();
        for (ending, start) in [(&b"\n"[..], &b""[..]), (b"\r\n", b""), (b"\r\n", bom)] {
            let file = [start, &longest, ending, &too_long, ending, b"{}", ending].concat();
            let read = lines(&file);
            assert_eq!(read.len(), 3);
            assert_eq!(read[0], Ok(MAX_LINE));
            assert_eq!(read[1], Err("the line is longer than 4 MiB".to_string()));
            assert_eq!(read[2], Ok(2));
        }
    }
}
