@spt @mpp
Feature: Paying an HTTP 402 merchant with a shared payment token
  The agent pays a Machine Payments Protocol merchant: the merchant answers
  402 with a stripe challenge, the agent pays with the token of an approved
  shared_payment_token spend request, the merchant redeems it at Link once.

  Background:
    Given a logged-in user with a default card

  @PAY-03
  Scenario: A 402 is paid with an approved token, redeemed exactly once
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "api" was paid 1 time
    And Link redeemed the shared payment token 1 time

  @PAY-04
  Scenario: The same token again is refused and nothing more is redeemed
    Given an approved shared payment token spend request for "api/report"
    And the agent ran "mpp pay {merchant:api/report} --spend-request-id {id}"
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then the payment is refused
    And the merchant "api" was paid 1 time
    And Link redeemed the shared payment token 1 time

  @PAY-05 @card
  Scenario: A card spend request cannot pay a 402, and no credential is sent
    Given an approved card spend request
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then it fails with an error
    And no merchant received a credential

  @PAY-05
  Scenario: A token request not yet approved cannot pay, and no credential is sent
    Given a shared payment token spend request for "api/report" pending approval
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then it fails with an error
    And no merchant received a credential
    And Link redeemed the shared payment token 0 times

  @PAY-06
  Scenario Outline: A response that is not a 402 is passed through: <path>
    Given an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:<path>} --spend-request-id {id}"
    Then the output field "status" is "<status>"
    And no merchant received a credential
    And Link redeemed the shared payment token 0 times

    Examples:
      | path        | status |
      | plain/ok    | 200    |
      | plain/error | 500    |

  @PAY-07
  Scenario: A POST is retried with the same body and headers
    Given an approved shared payment token spend request of "4200" for "api/report"
    When the agent pays "{merchant:api/orders}" with POST data '{"sku":"book-1","quantity":2}' and the header "X-Order-Ref: 42"
    Then it succeeds
    And the output field "status" is "200"
    And the output field "body.received_body" is '{"sku":"book-1","quantity":2}'
    And the merchant "api" was paid 1 time

  @PAY-08
  Scenario: An amount above the approved one is refused and the token is not consumed
    Given an approved shared payment token spend request of "1000" for "api/report"
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then the payment is refused
    And Link redeemed the shared payment token 0 times
    And Link has the spend request as "approved"

  @PAY-08
  Scenario: An expired challenge is never paid and the token is not consumed
    Given merchants' challenges expire as soon as they are issued
    And an approved shared payment token spend request for "api/report"
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then the payment is refused
    And Link redeemed the shared payment token 0 times

  @PAY-09 @polling
  Scenario: Paying without a spend request runs the whole flow
    Given the user will approve the next spend request
    When the agent runs "mpp pay {merchant:api/report} --context {context}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "api" was paid 1 time
    And Link redeemed the shared payment token 1 time

  @PAY-04 @PAY-09 @polling
  Scenario: A second purchase gets a new token, never the spent one
    Given the user will approve the next spend request
    And the agent ran "mpp pay {merchant:api/report} --context {context}"
    And the user will approve the next spend request
    When the agent runs "mpp pay {merchant:api/report} --context {context}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "api" was paid 2 times
    And Link redeemed the shared payment token 2 times

  @PAY-11 @merchant
  Scenario: A seller pays its own 402 route with a test token from Stripe's test helper, once
    Given a merchant developer minted a test shared payment token for "api/report"
    When the developer pays "api/report" with that token
    Then the developer's payment answered 200 with a receipt
    And Stripe shows the token as "consumed"
    And Link redeemed the shared payment token 1 time
    When the developer pays "api/report" with that token
    Then the developer's payment answered 402 without a receipt
    And Link refused a redemption as "token_already_used"

  @PAY-11 @merchant
  Scenario: A test token the seller revoked is refused
    When the developer revokes another test token for "api/report" with the test helper
    And the developer pays "api/report" with that token
    Then the developer's payment answered 402 without a receipt
    And Link refused a redemption as "shared_payment_granted_token_revoked"
    And Link redeemed the shared payment token 0 times

  @PAY-10 @1x
  Scenario: A token Link mints a few seconds after approval is paid once it is there
    Given an approved shared payment token spend request for "api/report"
    And Link mints the token 2 seconds after approval
    When the agent runs "mpp pay {merchant:api/report} --spend-request-id {id}"
    Then it succeeds
    And the output field "status" is "200"
    And the merchant "api" received 1 credential
    And Link redeemed the shared payment token 1 time
