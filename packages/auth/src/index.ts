export {
  type AccessControl,
  type AccessControlOptions,
  type AuthMode,
  createAccessControl,
} from "./access-control";
export { ANONYMOUS, type Identity, iamPrincipal, identityFromClaims, runsInLambda } from "./identify";
export { grants, PERMISSIONS, type Permission, ROLE_PERMISSIONS, rolesGranting } from "./permissions";
export { LEVELS, type Level, ResourcePermissions } from "./resource-permissions";
export { permissionFor, ROUTE_PERMISSIONS, routeKey, routesMissingFromTable } from "./route-permissions";
export { newApiToken, tokenUser } from "./tokens";
export { parseRoles, type User, UsersStore } from "./users-store";
