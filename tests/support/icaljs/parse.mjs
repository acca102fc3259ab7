// Read an iCalendar file from stdin with ical.js (the parser of Thunderbird) and print what
// it understood as JSON: an independent check of the files booking writes with icalendar.
//
// Usage: node parse.mjs [occurrences-to-expand=60] < calendar.ics
//
// Every instant is printed as a UTC ISO string computed by ical.js itself from the TZID and
// the VTIMEZONE in the file, so a wrong or missing VTIMEZONE shows up as a wrong instant.

import ICAL from "ical.js";

// RFC 5545 3.8.8.2: the value of a non-standard property is TEXT unless it says otherwise.
// ical.js keeps unknown properties raw (a "\," stays "\,"); calendar clients read the
// calendar's name and zone as TEXT, so read them so here too.
for (const name of ["x-wr-calname", "x-wr-timezone"]) {
  ICAL.design.icalendar.property[name] = { defaultType: "text" };
}

const expandLimit = Number.parseInt(process.argv[2] ?? "60", 10);

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

// A floating time has no zone: ical.js would read it in the reader's own zone.
function zoneName(time) {
  if (!time) return null;
  if (time.zone === ICAL.Timezone.utcTimezone) return "UTC";
  if (time.zone === ICAL.Timezone.localTimezone || !time.zone) return "floating";
  return time.zone.tzid;
}

function instant(time) {
  if (!time) return null;
  return new Date(time.toUnixTime() * 1000).toISOString();
}

function timeInfo(time) {
  if (!time) return null;
  return { utc: instant(time), local: time.toString(), tzid: zoneName(time) };
}

function addressInfo(property) {
  const parameters = {};
  for (const [name, value] of Object.entries(property.toJSON()[1])) {
    parameters[name.toUpperCase()] = value;
  }
  return { value: property.getFirstValue(), parameters };
}

function textValue(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null || value === undefined ? null : String(value);
}

function eventInfo(component) {
  const event = new ICAL.Event(component);
  const organizer = component.getFirstProperty("organizer");
  return {
    uid: event.uid,
    sequence: component.hasProperty("sequence") ? event.sequence : null,
    status: textValue(component, "status"),
    summary: event.summary ?? null,
    description: event.description ?? null,
    location: event.location ?? null,
    url: textValue(component, "url"),
    conference: textValue(component, "conference"),
    conference_parameters: component.hasProperty("conference") ? addressInfo(component.getFirstProperty("conference")).parameters : null,
    categories: component.getAllProperties("categories").flatMap((property) => property.getValues()),
    dtstamp: instant(component.getFirstPropertyValue("dtstamp")),
    last_modified: instant(component.getFirstPropertyValue("last-modified")),
    start: timeInfo(event.startDate),
    end: timeInfo(event.endDate),
    organizer: organizer ? addressInfo(organizer) : null,
    attendees: component.getAllProperties("attendee").map(addressInfo),
    recurrence_id: timeInfo(event.recurrenceId),
    rrule: component.hasProperty("rrule") ? component.getFirstPropertyValue("rrule").toString() : null,
    exdates: component
      .getAllProperties("exdate")
      .flatMap((property) => property.getValues())
      .map(timeInfo),
    occurrences: null,
  };
}

// RRULE expansion by ical.js, exceptions (RECURRENCE-ID overrides of the same UID) applied.
function expandSeries(component, exceptions) {
  const event = new ICAL.Event(component, { exceptions, strictExceptions: true });
  const iterator = event.iterator();
  const occurrences = [];
  for (let next = iterator.next(); next && occurrences.length < expandLimit; next = iterator.next()) {
    const details = event.getOccurrenceDetails(next);
    occurrences.push({
      start: instant(details.startDate),
      end: instant(details.endDate),
      local_start: details.startDate.toString(),
      recurrence_id: instant(details.recurrenceId),
    });
  }
  return occurrences;
}

function freeBusyInfo(component) {
  return {
    uid: textValue(component, "uid"),
    start: timeInfo(component.getFirstPropertyValue("dtstart")),
    end: timeInfo(component.getFirstPropertyValue("dtend")),
    dtstamp: instant(component.getFirstPropertyValue("dtstamp")),
    organizer: component.getFirstProperty("organizer") ? addressInfo(component.getFirstProperty("organizer")) : null,
    periods: component.getAllProperties("freebusy").flatMap((property) => {
      const type = property.getParameter("fbtype") ?? "BUSY";
      return property.getValues().map((period) => ({
        fbtype: type,
        start: instant(period.start),
        end: instant(period.getEnd()),
      }));
    }),
  };
}

const text = await readStdin();
const calendar = new ICAL.Component(ICAL.parse(text));

// Without registering the file's VTIMEZONEs, a TZID that ical.js does not find would be
// read as floating time; register them so every conversion uses the file's own rules.
ICAL.TimezoneService.reset();
const timezones = calendar.getAllSubcomponents("vtimezone");
for (const vtimezone of timezones) {
  ICAL.TimezoneService.register(vtimezone);
}

const eventComponents = calendar.getAllSubcomponents("vevent");
const events = eventComponents.map(eventInfo);
const exceptionsByUid = new Map();
for (const component of eventComponents) {
  if (component.hasProperty("recurrence-id")) {
    const uid = component.getFirstPropertyValue("uid");
    if (!exceptionsByUid.has(uid)) exceptionsByUid.set(uid, []);
    exceptionsByUid.get(uid).push(component);
  }
}
eventComponents.forEach((component, index) => {
  if (component.hasProperty("rrule") && !component.hasProperty("recurrence-id")) {
    const exceptions = exceptionsByUid.get(component.getFirstPropertyValue("uid")) ?? [];
    events[index].occurrences = expandSeries(component, exceptions);
  }
});

const result = {
  version: textValue(calendar, "version"),
  prodid: textValue(calendar, "prodid"),
  calscale: textValue(calendar, "calscale"),
  method: textValue(calendar, "method"),
  "x-wr-calname": textValue(calendar, "x-wr-calname"),
  "x-wr-timezone": textValue(calendar, "x-wr-timezone"),
  timezones: timezones.map((vtimezone) => vtimezone.getFirstPropertyValue("tzid")),
  events,
  freebusy: calendar.getAllSubcomponents("vfreebusy").map(freeBusyInfo),
};
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
