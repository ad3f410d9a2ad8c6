import { Extensions } from "type-graphql";

/** The `extensions` key of a field whose value depends on who asks. */
export const VIEWER_DEPENDENT = "viewerDependent";

/**
 * Marks a field whose value depends on who asks (an email shown to some viewers, a field
 * only the host reads). Live frames of an operation that selects one are shared only
 * between subscribers who are the same user (issue 10); every other field must answer the
 * same to everyone who may read its parent.
 */
export const ViewerDependent = () => Extensions({ [VIEWER_DEPENDENT]: true });
