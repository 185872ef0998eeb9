import { KeelError } from "@keel/core";

/** Every error reading, scoring, explaining or exporting a stored model raises. */
export class ModelFormatError extends KeelError {}
