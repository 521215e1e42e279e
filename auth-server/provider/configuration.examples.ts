/** Type-checked examples for configuration.ts (its JSDoc shows these regions). */
import Provider from 'oidc-provider';
import { providerConfiguration, type ProviderDeps } from './configuration.ts';

export function providerConfigurationExample(deps: ProviderDeps) {
  //#region providerConfiguration
  const provider = new Provider(deps.config.issuer, providerConfiguration(deps));
  //#endregion providerConfiguration
}
