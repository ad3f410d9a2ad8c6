/**
 * Description texts several schema elements share. The schema documents itself (issue 13):
 * GraphiQL's docs explorer is the integrator's manual, so each text says what the server
 * does, with the default limits of src/config.ts.
 */

/** The `first` argument of every paginated field (pageSize in src/services/pagination.ts). */
export const FIRST_ARG = "Page size: 20 when omitted, 0 to 100 (MAX_PAGE_SIZE); BAD_USER_INPUT beyond.";

/** The `after` argument of every paginated field. */
export const AFTER_ARG = "The `endCursor` of the previous page; a forged cursor, or one of another list, is BAD_USER_INPUT.";

/** The `cursor` of every connection edge. */
export const EDGE_CURSOR = "Opaque position of this edge: pass it as `after` to read the page that follows it.";

/** The `totalCount` of a connection. */
export const TOTAL_COUNT = "Items in the whole list (every page), not only this one.";

/** The `afterSeq` argument of the timeline subscriptions (boardEvents, systemEvents). */
export const AFTER_SEQ_ARG =
  "Resume after this timeline seq (a board read's lastSeq, or the last event you got): the recorded events after it come first. Omitted: live events only.";
