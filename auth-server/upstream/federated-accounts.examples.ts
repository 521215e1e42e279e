/** Type-checked examples for federated-accounts.ts (its JSDoc shows these regions). */
import { mappedRoles } from './federated-accounts.ts';

export function mappedRolesExample() {
  //#region mappedRoles
  mappedRoles({ defaultRole: 'user', roles: { claim: 'groups', map: { admins: ['admin'] } } }, { groups: ['admins'] });
  // → ['user', 'admin']
  //#endregion mappedRoles
}
